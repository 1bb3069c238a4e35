"""How every list of the API is paged.

Its own module: DRF imports ``eventplatform.rest`` (the JSON parser) while it defines its
views, and this class needs DRF's serializers, which import those views.
"""

from rest_framework import exceptions, pagination, serializers


class Pages(pagination.PageNumberPagination):
    """The project's pages, with a page that is not a number refused as any other bad
    parameter is: a 400 naming ``page``, not a 404. A page past the end is still a 404."""

    def get_page_number(self, request, paginator) -> int:
        number = super().get_page_number(request, paginator)
        try:
            return serializers.IntegerField(min_value=1).run_validation(number)
        except exceptions.ValidationError as error:
            raise exceptions.ValidationError({self.page_query_param: error.detail}) from None
