"""Lookups the exports' page queries share."""

from django.db.models import Lookup
from django.db.models.lookups import In


class AnyOf(Lookup):
    """`column IN (values)` for a page's worth of values already of the column's type: on
    PostgreSQL `= ANY(%s)`, one array parameter rather than a placeholder, a prepared value
    and a quoted literal each (those cost more than the query did)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        column, params = self.process_lhs(compiler, connection)
        return f"{column} = ANY(%s)", (*params, list(self.rhs))
