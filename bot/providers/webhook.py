"""The merchant's own payment back end, reached over a signed JSON webhook."""

import json
from datetime import datetime
from typing import Any

import aiohttp

from bot.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from handlers.ports import ProviderError, RefundRequest, RefundState
from storage.models import Refund, RefundStatus

FAILURE_REASON_LENGTH = 256  # the refunds.failure_reason column
BANK_REFERENCE_LENGTH = 128  # the refunds.bank_reference column


def refund_state_from_json(payload: Any) -> RefundState:
    """`{"status", "failure_reason"?, "bank_reference"?}` as a RefundState; ValueError if malformed."""
    if not isinstance(payload, dict):
        raise ValueError("the answer is not a JSON object")
    try:
        status = RefundStatus(payload.get("status"))
    except ValueError:
        status = None
    if status is None or status is RefundStatus.REQUESTED:  # "requested" is ours, not a provider's word
        raise ValueError(f"unknown refund status {str(payload.get('status'))[:32]!r}")
    failure_reason, bank_reference = payload.get("failure_reason"), payload.get("bank_reference")
    for field, value in (("failure_reason", failure_reason), ("bank_reference", bank_reference)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{field} must be a string")
    if bank_reference is not None and len(bank_reference) > BANK_REFERENCE_LENGTH:
        raise ValueError(f"bank_reference is longer than {BANK_REFERENCE_LENGTH} characters")
    return RefundState(
        status,
        failure_reason=failure_reason[:FAILURE_REASON_LENGTH] if failure_reason else None,
        bank_reference=bank_reference or None,
    )


class WebhookProvider:
    """Creates refunds by POSTing signed JSON to the merchant; they push status changes back to us."""

    name = "webhook"

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0):
        self.url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_refund(self, request: RefundRequest, *, now: datetime) -> RefundState:
        """POST the refund, keyed by the ticket reference; ProviderError on any failure."""
        body = json.dumps(
            {
                "reference": request.reference,
                "transaction_id": request.transaction_id,
                "amount": format(request.amount.amount, "f"),
                "currency": request.amount.currency,
            },
            separators=(",", ":"),
        ).encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request.reference,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            async with self._client().post(self.url, data=body, headers=headers) as response:
                answer = await response.read()
                if not 200 <= response.status < 300:
                    raise self._error(request, f"the merchant answered HTTP {response.status}")
                return refund_state_from_json(json.loads(answer))
        except ProviderError:
            raise
        except ValueError as exc:  # bad JSON (JSONDecodeError, UnicodeDecodeError) or a bad answer
            raise self._error(request, f"the merchant's answer is unusable: {exc}") from None
        except TimeoutError as exc:
            raise self._error(request, f"no answer within {self._timeout.total} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise self._error(request, f"could not reach the merchant: {type(exc).__name__}: {exc}") from exc

    async def refund_status(self, refund: Refund, *, now: datetime) -> RefundState:
        """The state the merchant last pushed to our status endpoint (stored on the refund row)."""
        return RefundState(RefundStatus(refund.status), refund.failure_reason, refund.bank_reference)

    def _error(self, request: RefundRequest, detail: str) -> ProviderError:
        message = f"webhook refund {request.reference}: {detail}"
        if self._secret:
            message = message.replace(self._secret, "***")
        return ProviderError(message)
