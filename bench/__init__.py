"""Developer tools outside the product: the scale-L generator and the SPEC 6.3 benchmark.

Run from a checkout with ``python -m bench``; the installed kyusho wheel does not carry them.
"""
