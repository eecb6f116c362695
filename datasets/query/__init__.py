"""The query language of exports, the gallery and the task pages (see grammar.lark)."""
