"""A small server shaped like the AWS Price List Query API on a loopback port, for boto3's
`pricing` client over real HTTP (AWS JSON 1.1: `POST /` with `X-Amz-Target:
AWSPriceListService.GetProducts`).

It holds products (service code, attributes, on-demand USD price and unit), answers
GetProducts with every product whose attributes match all TERM_MATCH filters, in pages of
`MaxResults` with a `NextToken`, and records every request. `fail_with` makes it answer an
AWS error instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TARGET_PREFIX = "AWSPriceListService."


@dataclass
class Product:
    service_code: str
    attributes: dict[str, str]
    usd: str
    unit: str = "Hrs"
    sku: str = ""

    def price_list_item(self) -> dict[str, Any]:
        """One PriceList entry as the API encodes it (a JSON document in a string)."""
        sku = self.sku or f"SKU{abs(hash(json.dumps(self.attributes, sort_keys=True))) % 10**10}"
        term = f"{sku}.JRTCKXETXF"
        return {
            "product": {
                "productFamily": self.attributes.get("productFamily", ""),
                "attributes": {"servicecode": self.service_code, **self.attributes},
                "sku": sku,
            },
            "serviceCode": self.service_code,
            "terms": {
                "OnDemand": {
                    term: {
                        "offerTermCode": "JRTCKXETXF",
                        "sku": sku,
                        "effectiveDate": "2026-12-01T00:00:00Z",
                        "priceDimensions": {
                            f"{term}.6YS6EN2CT7": {
                                "unit": self.unit,
                                "beginRange": "0",
                                "endRange": "Inf",
                                "description": f"{self.service_code} {self.attributes}",
                                "pricePerUnit": {"USD": self.usd},
                            }
                        },
                    }
                }
            },
            "version": "20261201000000",
            "publicationDate": "2026-12-01T00:00:00Z",
        }


@dataclass
class FakePricing:
    products: list[Product] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: tuple[int, str] | None = None  # (HTTP status, AWS error code)
    url: str = ""

    def add(self, service_code: str, usd: str, unit: str = "Hrs", **attributes: str) -> None:
        self.products.append(Product(service_code, dict(attributes), usd, unit))

    def get_products(self, body: dict[str, Any]) -> dict[str, Any]:
        filters = body.get("Filters") or []
        found = [
            p
            for p in self.products
            if p.service_code == body.get("ServiceCode")
            and all(
                f.get("Type") == "TERM_MATCH"
                and str(p.attributes.get(f.get("Field", ""), "")).lower()
                == str(f.get("Value", "")).lower()
                for f in filters
            )
        ]
        size = int(body.get("MaxResults") or 100)
        start = int(body.get("NextToken") or 0)
        page = found[start : start + size]
        answer: dict[str, Any] = {
            "FormatVersion": body.get("FormatVersion") or "aws_v1",
            "PriceList": [json.dumps(p.price_list_item()) for p in page],
        }
        if start + size < len(found):
            answer["NextToken"] = str(start + size)
        return answer


def _handler(fake: FakePricing) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            target = self.headers.get("X-Amz-Target", "")
            fake.requests.append({"target": target, "body": body})
            if fake.fail_with is not None:
                status, code = fake.fail_with
                self._answer(status, {"__type": code, "message": f"{code} (fake)"})
            elif target == f"{TARGET_PREFIX}GetProducts":
                self._answer(200, fake.get_products(body))
            else:
                self._answer(400, {"__type": "UnknownOperationException", "message": target})

    return Handler


@contextmanager
def pricing_server() -> Iterator[FakePricing]:
    """A running fake Price List API on loopback; `fake.url` is its endpoint."""
    fake = FakePricing()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
