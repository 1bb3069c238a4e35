"""Django's request path under ASGI, in fewer hops between the event loop and the thread."""


class OneHopMiddleware:
    """The innermost middleware, synchronous only: Django then runs the middleware between it
    and servestatic (sessions, CSRF, authentication, messages...) as it runs a synchronous
    stack, in one crossing from the event loop to the request's thread.

    Django's own middleware (``MiddlewareMixin``) runs under ASGI by sending each
    ``process_request`` and ``process_response`` through ``sync_to_async`` (Django ticket
    #37177): a crossing per phase, each waiting for the loop's next turn. Below a middleware
    that runs only synchronously, Django adapts them the other way: one crossing into the
    thread for all of them, one back to the loop for the view's own machinery
    (``tests/test_middleware.py`` pins the count). An asynchronous view would still run on the
    loop, with the request's thread waiting for it. Once Django's middleware runs natively in
    both modes, this has nothing left to do.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
