"""The OpenAPI contract of the JSON API: served at /api/schema/ with Swagger UI at /api/docs/ from
local files, and fuzzed with schemathesis (bounded examples, positive and negative data, every
response check): no 5xx, every answer matches the schema."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from courses.services import catalog_seed

pytestmark = pytest.mark.django_db
EXAMPLES_PER_OPERATION = 25


def test_schema_describes_the_api_with_its_headers_and_error_shapes(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert set(paths) >= {
        "/api/packages/",
        "/api/orders/",
        "/api/orders/{order_id}/",
        "/api/orders/{order_id}/pay/",
    }
    create = paths["/api/orders/"]["post"]
    headers = {p["name"]: p for p in create["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"]["required"] is True
    assert set(create["responses"]) >= {"200", "201", "400", "429", "502", "503"}
    created = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert created.endswith("/OrderCreated")
    detail = paths["/api/orders/{order_id}/"]["get"]
    assert "X-Order-Key" in {p["name"] for p in detail["parameters"]}
    assert set(detail["responses"]) >= {"200", "404", "429"}
    components = schema["components"]["schemas"]
    assert {"OrderSummary", "OrderCreated", "OrderPaymentProblem"} <= set(components)


def test_docs_page_uses_only_local_assets(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html and "<style" not in html
    script = client.get("/api/docs/?script")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()


# The real WSGI handler closes the connection after each request: a transactional test.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(midtrans_sim, mode):
    catalog_seed()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4

    for operation in operations:

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case):
            # Valid by the schema is not valid by the rules (an email must be deliverable, a
            # package must exist): acceptance of schema-valid data is not a contract here.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            call()
        except Unsatisfiable:
            # GET /api/packages/ takes no input at all: nothing to make invalid.
            assert mode == GenerationMode.NEGATIVE
            assert operation.path == "/api/packages/", operation.path
