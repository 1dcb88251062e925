"""Procountor's published response contract for the operations nordledger uses, as JSON Schema (Draft 2020-12).

The simulator is checked against these schemas (tests/simulator/test_procountor_contract.py), never against our client.
"""

# Source: Procountor API OpenAPI 3.1 description, info.version 25.12.0, as published in the public
# repository myyra/procountor, file internal/apispec/procountor-api.yaml (components/schemas and the
# paths /fiscalyears, /coa, /dimensions, /ledgerreceipts, /ledgerreceipts/{receiptId},
# /reports/ledgeraccounts; every operation's `default` response is ErrorResponse). Cross-checked with the
# generated 26.04 client rantalainen/procountor-api-client src/api.ts (differences are noted where they matter).
# Names, types, enums, formats, maxLength/maximum, uniqueItems and `required` are transcribed from that text;
# `additionalProperties: false` is ours: the simulator may omit optional fields but not invent any.
#
# Rules that are NOT in the OpenAPI text, and where they come from:
# - Batch reads (dev.procountor.com/api-reference, "Batch endpoints"): GET /ledgerreceipts/{receiptIds}
#   takes up to 200 comma-separated ids; only existing ids are returned, ordered by id, without duplicates;
#   when several ids are asked the answer is a list even if one receipt is found; more than 200 ids -> 400;
#   all ids unknown -> 404; one known id is enough for a 200. (The OpenAPI path only says "Also accepts
#   multiple comma-separated ids. Max 200 ids per request." and declares the 200 body as one LedgerReceipt,
#   path parameter `type: string, format: multi`.) -> LEDGER_RECEIPT_LIST.
# - Datetimes (dev.procountor.com/api-requests, "Formats and encoding"): ISO 8601 like 2017-01-30T15:20:00,
#   i.e. without a UTC offset; the OpenAPI text marks these fields `x-ogen-time-format: 2006-01-02T15:04:05`.
#   So `format: date-time` is checked by is_date_time below (RFC 3339 with or without the offset),
#   not by jsonschema's strict RFC 3339 checker.
# - Null reference ids (dev.procountor.com/api-requests, "ID fields": "an empty reference ID has a value of
#   null"): the OpenAPI text marks exactly these with the 3.0 keyword `nullable: true` (LedgerReceipt.invoiceId,
#   Transaction.partnerId), transcribed as type [integer, null]. Every other field may be absent but not null.
# - POST /oauth/token is not in the OpenAPI document at all (it describes /login and /token, a refresh-token
#   exchange answering TokenResponse {access_token, expires_in}, both required). The client-credentials form
#   grant (grant_type=client_credentials, client_id, client_secret, api_key) is the one the 26.04 client uses.
#   OAUTH_TOKEN_RESPONSE takes TokenResponse's fields and types and adds token_type, which RFC 6749 section
#   5.1 requires in every token response (LoginApiTokens in the spec has it too); it is left open
#   (no additionalProperties: false) because the spec does not describe this answer.
# Rules the spec states only in prose (descriptions) are asserted by the test module, not encoded here.

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

RECEIPT_TYPES = [
    "JOURNAL",
    "PURCHASE_INVOICE",
    "SALES_INVOICE",
    "PERIODIC_TAX_RETURN",
    "TRAVEL_INVOICE",
    "BILL_OF_CHARGES",
    "VAT_FORM",
    "SALARY",
    "EMPLOYER_CONTRIBUTION",
    "PURCHASE_ORDER",
    "SALES_ORDER",
    "BANK_STATEMENT_AS_RECEIPT",
    "RECEIPT_FOR_OPENING_ACCOUNTS",
    "REFERENCE_PAYMENT",
    "TRACKING_PERIOD_OPENING_RECEIPT",
    "VAT_SUMMARY",
]

# LedgerReceipt.status and LedgerReceiptBasicInfo.status: the same 20 values (listed in another order there).
RECEIPT_STATUSES = [
    "APPROVED",
    "DELETED",
    "EMPTY",
    "INVALIDATED",
    "INVOICED",
    "MARKED_PAID",
    "NOT_SENT",
    "OVERRIDDEN",
    "PAID",
    "PARTLY_PAID",
    "PAYMENT_DENIED",
    "PAYMENT_QUEUED",
    "PAYMENT_SENT_TO_BANK",
    "PAYMENT_TRANSACTION_REMOVED",
    "RECEIVED",
    "SENT",
    "STARTED",
    "UNFINISHED",
    "UNSAVED",
    "VERIFIED",
]

# LedgerAccountsReportRequest.receiptStatus items (the 26.04 client has the same 12, with a typo "PARTLY_PAID,").
REPORT_RECEIPT_STATUSES = [
    "APPROVED",
    "SENT",
    "NOT_SENT",
    "PAYMENT_SENT_TO_BANK",
    "PAID",
    "PARTLY_PAID",
    "MARKED_PAID",
    "PAYMENT_QUEUED",
    "PAYMENT_DENIED",
    "UNFINISHED",
    "VERIFIED",
    "RECEIVED",
]

REPORT_RECEIPT_TYPES = [
    "SALES_INVOICE",
    "PURCHASE_INVOICE",
    "TRAVEL_INVOICE",
    "BILL_OF_CHARGES",
    "JOURNAL",
    "SALARY",
    "VAT_FORM",
    "EMPLOYER_CONTRIBUTION",
    "PERIODIC_TAX_RETURN",
    "VAT_SUMMARY",
    "SALES_ORDER",
    "PURCHASE_ORDER",
    "REFERENCE_PAYMENT",
    "BANK_STATEMENT_AS_RECEIPT",
    "RECEIPT_FOR_OPENING_ACCOUNTS",
]

VAT_TYPES = ["PURCHASE", "SALES"]
TRANSACTION_TYPES = ["ENTRY", "RECONCILIATION_ENTRY", "REVERSING_ENTRY"]
TRACKING_PERIOD_STATUSES = ["CLOSED", "OPEN", "PENDING"]

DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}  # x-ogen-time-format 2006-01-02T15:04:05 where the spec says so


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


# -- auth (not in the OpenAPI document; see the header) ----------------------------------------------------

OAUTH_TOKEN_RESPONSE = {
    "type": "object",
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string"},
        "expires_in": {"type": "integer"},
    },
    "required": ["access_token", "token_type", "expires_in"],
}

# -- errors: every operation's `default` response ---------------------------------------------------------

API_ERROR = _object({"status": {"type": "integer"}, "message": {"type": "string"}})
# The 26.04 client's ErrorMessage also has `field` (string) and `model`; 25.12's ApiError has only these two.

ERROR_MESSAGE = _object({"errors": _array(_ref("ApiError"))})

ERROR_RESPONSE = _object(
    {
        "requestId": {"type": "string"},
        "timestamp": DATE_TIME,
        "code": {"type": "string"},
        "message": {"oneOf": [_ref("ErrorMessage"), {"type": "string"}]},
    },
    required=("requestId", "timestamp", "message"),
)

# -- GET /fiscalyears --------------------------------------------------------------------------------------

TRACKING_PERIOD = _object(
    {
        "id": {"type": "integer"},
        "startDate": DATE,
        "endDate": DATE,
        "status": {"type": "string", "enum": TRACKING_PERIOD_STATUSES},
        "modified": DATE_TIME,
    },
    required=("status",),
)

FISCAL_YEAR = _object(
    {
        "id": {"type": "integer"},
        "startDate": DATE,
        "endDate": DATE,
        "modified": DATE_TIME,
        "trackingPeriods": _array(_ref("TrackingPeriod")),
        "isOpen": {"type": "boolean"},
    }
)

FISCAL_YEARS = _object({"fiscalYears": _array(_ref("FiscalYear"))})

# -- GET /coa ----------------------------------------------------------------------------------------------

LEDGER_ACCOUNT_TRANSLATION = _object({"languageCode": {"type": "string"}, "translation": {"type": "string"}})

LEDGER_ACCOUNT = _object(
    {
        "ledgerAccountCode": {"type": "string"},
        "name": {"type": "string"},
        "active": {"type": "boolean"},
        "translations": _array(_ref("LedgerAccountTranslation")),
    }
)

LEDGER_ACCOUNTS = _object({"ledgerAccounts": _array(_ref("LedgerAccount"))})

# -- GET /dimensions (the 200 body is an array of Dimension) ------------------------------------------------

DIMENSION_ITEM = _object(
    {
        "id": {"type": "integer"},
        "codeName": {"type": "string"},
        "status": {"type": "string"},  # absent when active, "P" when inactive (prose rule, asserted by the test)
        "description": {"type": "string"},
    },
    required=("codeName",),
)

DIMENSION = _object(
    {"id": {"type": "integer"}, "name": {"type": "string"}, "items": _array(_ref("DimensionItem"))},
    required=("name",),
)

DIMENSION_LIST = _array(_ref("Dimension"))

# -- GET /ledgerreceipts -----------------------------------------------------------------------------------

SERIAL_NUMBER = _object(
    {"series": {"type": "string", "enum": ["A", "B", "C", "D", "E", "F", "G", "H"]}, "number": {"type": "integer"}}
)

SEARCH_RESULT_META_DATA = _object(
    {
        "pageNumber": {"type": "integer"},
        "pageSize": {"type": "integer"},
        "resultCount": {"type": "integer"},
        "totalCount": {"type": "integer", "format": "int64"},
    }
)

LEDGER_RECEIPT_BASIC_INFO = _object(
    {
        "id": {"type": "integer"},
        "type": {"type": "string", "enum": RECEIPT_TYPES},
        "status": {"type": "string", "enum": RECEIPT_STATUSES},
        "name": {"type": "string"},
        "receiptDate": DATE,
        "receiptNumber": {"type": "integer"},
        "invoiceNumber": {"type": "integer"},
        "serialNumber": _ref("SerialNumber"),
        "created": DATE_TIME,
        "version": DATE_TIME,
    }
)

LEDGER_RECEIPT_SEARCH_RESULT = _object(
    {"results": _array(_ref("LedgerReceiptBasicInfo")), "meta": _ref("SearchResultMetaData")}
)

# -- GET /ledgerreceipts/{receiptId} -----------------------------------------------------------------------

DIMENSION_ITEM_VALUE = _object(
    {"dimensionId": {"type": "integer"}, "itemId": {"type": "integer"}, "value": {"type": "number"}},
    required=("dimensionId", "itemId", "value"),
)

TRANSACTION = _object(
    {
        "id": {"type": "integer"},
        "transactionType": {"type": "string", "enum": TRANSACTION_TYPES},
        "account": {"type": "string"},
        "accountingValue": {"type": "number"},  # net, scale 2 (prose; asserted by the test)
        "vatPercent": {"type": "number"},
        "vatType": {"type": "string", "enum": VAT_TYPES},
        "vatStatus": {"type": "integer"},
        "description": {"type": "string", "maxLength": 255},
        "balanceCode": {"type": "string", "maxLength": 255},
        "allocations": _array({"type": "integer"}),
        "partnerId": {"type": ["integer", "null"]},  # nullable: true
        "dimensionItemValues": _array(_ref("DimensionItemValue")),
        "vatDeductionPercent": {"type": "number"},
        "startDate": DATE,
        "endDate": DATE,
    },
    required=("account", "accountingValue", "transactionType"),  # 26.04 also requires vatPercent
)

ATTACHMENT = _object(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "referenceType": {
            "type": "string",
            "enum": [
                "BANKSTATEMENTEVENT",
                "COST_RECEIPT",
                "CUSTOMER_BUSINESS_PARTNER_REGISTER",
                "EMPLOYEE_INFO",
                "ENVIRONMENT",
                "FINANCIAL_STATEMENT",
                "INVOICE",
                "INVOICEDRAFT_ITEM",
                "LEDGERRECEIPT",
                "NETS_COLLECTION",
                "PERSON_BUSINESS_PARTNER_REGISTER",
                "PURCHASE_PRODUCT_REGISTER",
                "REFERENCE_PAYMENT",
                "SALES_PRODUCT_REGISTER",
                "SUPPLIER_BUSINESS_PARTNER_REGISTER",
            ],
        },
        "referenceId": {"type": "integer"},
        "mimeType": {"type": "string"},
        "sendWithInvoice": {"type": "boolean"},
    },
    required=("name", "referenceId", "referenceType", "sendWithInvoice"),
)

LEDGER_RECEIPT = _object(
    {
        "id": {"type": "integer"},
        "type": {"type": "string", "enum": RECEIPT_TYPES},
        "status": {"type": "string", "enum": RECEIPT_STATUSES},
        "name": {"type": "string", "maxLength": 80},
        "receiptDate": DATE,
        "vatType": {"type": "string", "enum": VAT_TYPES},
        "vatStatus": {"type": "integer"},
        "vatProcessing": {"type": "string"},
        "invoiceId": {"type": ["integer", "null"]},  # nullable: true
        "receiptNumber": {"type": "integer"},
        "invoiceNotes": {"type": "string", "maxLength": 10000},
        "invoiceNumber": {"type": "integer"},
        "accountantsNotes": {"type": "string", "maxLength": 255},
        "transactionDescription": {"type": "string", "maxLength": 255},
        "receiptValidity": {"type": "string", "enum": ["EMPTY", "IMMEDIATELY", "OVER_3_YEARS", "SERVICE_PERIOD"]},
        "periodStartDate": DATE,
        "periodEndDate": DATE,
        "partnerCode": {"type": "string"},
        "serialNumber": _ref("SerialNumber"),
        "version": DATE_TIME,  # 26.04 marks version required as well
        "depreciation": {
            "type": "string",
            "enum": [
                "EMPTY",
                "REDUCING_BALANCE_25_PERCENT",
                "REDUCING_BALANCE_4_PERCENT",
                "REDUCING_BALANCE_7_PERCENT",
                "STRAIGHT_LINE_DEPRECIATION_3_YEARS",
                "STRAIGHT_LINE_DEPRECIATION_5_YEARS",
            ],
        },
        "vatDate": DATE,
        "transactions": _array(_ref("Transaction")),
        "attachments": _array(_ref("Attachment")),
    },
    required=("name", "receiptDate", "transactions", "type", "vatStatus", "vatType"),
)

# Several ids: a list (dev.procountor.com batch endpoints; all unknown is a 404, so never empty).
LEDGER_RECEIPT_LIST = _array(_ref("LedgerReceipt"), minItems=1, maxItems=200)

# -- POST /reports/ledgeraccounts --------------------------------------------------------------------------

LEDGER_ACCOUNTS_REPORT_REQUEST_OPTIONS = _object(
    {
        "receiptType": _array({"type": "string", "enum": REPORT_RECEIPT_TYPES}),
        "receiptCurrency": {"type": "string"},
        "receiptName": {"type": "string"},
        "entryPeriodStart": DATE,
        "entryPeriodEnd": DATE,
        "transactionValue": {"type": "string"},
        "transactionCurrency": {"type": "string", "default": "EUR"},
        "reportLanguage": {"type": "string"},
        "customerCompanyId": {"type": "string"},
    }
)

LEDGER_ACCOUNTS_REPORT_REQUEST = _object(
    {
        "startDate": DATE,
        "endDate": DATE,
        "receiptStatus": _array({"type": "string", "enum": REPORT_RECEIPT_STATUSES}),
        "options": _ref("LedgerAccountsReportRequestOptions"),
    },
    required=("endDate",),
)

LEDGER_ACCOUNTS_REPORT_ROW = _object({"name": {"type": "string"}, "value": {"type": "number"}})

LEDGER_ACCOUNTS_REPORT_PERIOD = _object(
    {"startDate": DATE, "endDate": DATE, "rows": _array(_ref("LedgerAccountsReportRow"), uniqueItems=True)}
)

LEDGER_ACCOUNTS_REPORT_DATA = _object({"periods": _array(_ref("LedgerAccountsReportPeriod"))})

LEDGER_ACCOUNTS_REPORT_RESPONSE = _object(
    {"reportParameters": _ref("LedgerAccountsReportRequest"), "reportData": _ref("LedgerAccountsReportData")}
)

DEFS: dict[str, dict[str, Any]] = {
    "OAuthTokenResponse": OAUTH_TOKEN_RESPONSE,
    "ApiError": API_ERROR,
    "ErrorMessage": ERROR_MESSAGE,
    "ErrorResponse": ERROR_RESPONSE,
    "TrackingPeriod": TRACKING_PERIOD,
    "FiscalYear": FISCAL_YEAR,
    "FiscalYears": FISCAL_YEARS,
    "LedgerAccountTranslation": LEDGER_ACCOUNT_TRANSLATION,
    "LedgerAccount": LEDGER_ACCOUNT,
    "LedgerAccounts": LEDGER_ACCOUNTS,
    "DimensionItem": DIMENSION_ITEM,
    "Dimension": DIMENSION,
    "DimensionList": DIMENSION_LIST,
    "SerialNumber": SERIAL_NUMBER,
    "SearchResultMetaData": SEARCH_RESULT_META_DATA,
    "LedgerReceiptBasicInfo": LEDGER_RECEIPT_BASIC_INFO,
    "LedgerReceiptSearchResult": LEDGER_RECEIPT_SEARCH_RESULT,
    "DimensionItemValue": DIMENSION_ITEM_VALUE,
    "Transaction": TRANSACTION,
    "Attachment": ATTACHMENT,
    "LedgerReceipt": LEDGER_RECEIPT,
    "LedgerReceiptList": LEDGER_RECEIPT_LIST,
    "LedgerAccountsReportRequestOptions": LEDGER_ACCOUNTS_REPORT_REQUEST_OPTIONS,
    "LedgerAccountsReportRequest": LEDGER_ACCOUNTS_REPORT_REQUEST,
    "LedgerAccountsReportRow": LEDGER_ACCOUNTS_REPORT_ROW,
    "LedgerAccountsReportPeriod": LEDGER_ACCOUNTS_REPORT_PERIOD,
    "LedgerAccountsReportData": LEDGER_ACCOUNTS_REPORT_DATA,
    "LedgerAccountsReportResponse": LEDGER_ACCOUNTS_REPORT_RESPONSE,
}

# ISO 8601 / RFC 3339 date and time, the UTC offset optional (see the header).
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?", re.ASCII)

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def is_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not _DATE_TIME.fullmatch(instance):
        return False
    datetime.fromisoformat(instance[:19])  # a real calendar date and clock time
    return True


def schema(name: str) -> dict[str, Any]:
    """A self-contained Draft 2020-12 schema for component `name`, every component under $defs."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": DEFS, "$ref": f"#/$defs/{name}"}


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=FORMAT_CHECKER)


Draft202012Validator.check_schema(schema("LedgerReceipt"))  # the transcription itself is valid JSON Schema
