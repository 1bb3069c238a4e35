"""Django's request path under ASGI, in fewer hops between the event loop and the thread."""


class OneHopMiddleware:
    """The innermost middleware, synchronous only: Django then runs the middleware between it
    and servestatic (sessions, CSRF, authentication, messages...) in the thread for
    synchronous code in one hop, as it runs a synchronous stack.

    Django's own middleware (``MiddlewareMixin``) runs under ASGI by sending each
    ``process_request`` and ``process_response`` through ``sync_to_async`` (Django ticket
    #37177): two hops from the event loop to the thread and back per middleware, each waiting
    for the loop's next turn. Below a middleware that runs only synchronously, Django adapts
    them the other way: one hop into the thread for all of them, one back to the loop for the
    view's own machinery (``tests/test_middleware.py`` pins the count). Nothing asynchronous
    runs below it: the platform's views are synchronous, and the stream is not a view.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
