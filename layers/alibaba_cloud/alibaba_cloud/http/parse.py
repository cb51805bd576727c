"""Reading an upstream's answer without letting it explode: bounded in depth and in the number of items.

An answer under its size limit can still grow a hundredfold when parsed (eight megabytes of ``[]``
become millions of lists) or exhaust the parser's stack (a thousand nested levels in a few kilobytes).
What Alibaba, DynamoDB, SQS and the Secrets extension answer is far smaller and flatter: anything
beyond these bounds is not read, and the caller says the answer is unreadable.
"""

from __future__ import annotations

import json
from typing import Any

MAX_CONTAINERS = 50_000  # a page of 100 instances with their tags has about 2,000
MAX_XML_ELEMENTS = 1_000  # an XML error has a dozen
MAX_XML_DEPTH = 16


def json_object(content: bytes) -> dict[str, Any] | None:
    """``content`` as a JSON object, or ``None`` if it is none, or too large or too deep to read safely."""
    if content.count(b"[") + content.count(b"{") > MAX_CONTAINERS:  # brackets in strings count too: a bound
        return None
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        return None
    return data if isinstance(data, dict) else None


def xml_elements(content: bytes) -> Any | None:
    """``content`` parsed as XML (no document type, within the element and depth bounds), or ``None``.

    A document type is refused outright, as defusedxml does: Alibaba's errors have none, and it is
    where entity expansion and external entities live. Imported only here: XML answers are rare.
    """
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content or content.count(b"<") > 2 * MAX_XML_ELEMENTS:
        return None
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(content)
    except (ElementTree.ParseError, ValueError, RecursionError):
        return None
    return root


def element_as_dict(element: Any, depth: int = 0) -> object:
    """An element's children as a dict of their tags (its text when it has none), at most ``MAX_XML_DEPTH`` deep;
    a tag's namespace (AWS's ``{https://sts.amazonaws.com/doc/2011-06-15/}``) is left out."""
    children = list(element)
    if not children or depth >= MAX_XML_DEPTH:
        return (element.text or "").strip()
    return {child.tag.rpartition("}")[2]: element_as_dict(child, depth + 1) for child in children}
