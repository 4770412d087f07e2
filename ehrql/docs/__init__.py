"""Reference documentation generated from the code.

Run `python -m ehrql.docs` to rewrite the Markdown pages under
`docs/reference/`, or `python -m ehrql.docs --check` to fail when the committed
pages no longer match the code. Each module renders one kind of page; `pages`
puts them together.
"""
