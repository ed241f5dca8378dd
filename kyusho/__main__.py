from kyusho.cli import main

raise SystemExit(main())
