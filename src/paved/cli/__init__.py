"""The command line: thin commands that parse, build a request, call the domain, render."""
