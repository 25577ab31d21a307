import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from common.negotiation import ContentNegotiation

RENDERER_SETS = [[JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()], [BrowsableAPIRenderer(), JSONRenderer()]]


@pytest.mark.parametrize("renderers", RENDERER_SETS)
@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; indent=4", "text/html",
                                    "text/html, */*;q=0.8", "application/*"])
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
def test_same_answer_as_drf(renderers, accept, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/x" + query, **headers))

    def answer(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
            return type(renderer), media_type
        except Exception as exc:  # NotAcceptable / Http404 for a format no renderer offers
            return type(exc)

    assert answer(ContentNegotiation()) == answer(DefaultContentNegotiation())


def test_the_shortcut_is_taken_for_the_usual_request():
    """Without the shortcut the answer is the same but slower; make sure the fast branch is the one that runs."""
    request = Request(APIRequestFactory().get("/x", HTTP_ACCEPT="*/*"))

    class Exploding(DefaultContentNegotiation):
        def _get_parsed_accept_list(self, request):
            raise AssertionError("parsed the Accept header")

    class Fast(ContentNegotiation, Exploding):
        pass

    renderer, media_type = Fast().select_renderer(request, [JSONRenderer()])
    assert media_type == "application/json"
