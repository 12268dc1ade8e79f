#!/usr/bin/env python3
"""Runs every example of spec/http-api.md against a running server, in order.

An example is a ```http block (METHOD PATH, headers, a blank line, the body;
a body "@NAME" is the file NAME of the work folder) followed by a
```http-response block (the status; "# saved as NAME" saves the body; the
expected body).  A JSON body matches when the expected one is a subset of
it: "..." stands for any value, a string with "..." in it for any text
there, and a list ending in "..." for more items.  A text body matches when
each expected line is in it.  $NOW, the tokens ($USER ...) and $RUN (the
first run of the last run list) are substituted.

usage: examples.py SPEC BASE_URL WORKDIR   (tokens in the environment: USER, OPERATOR, ADMIN, ADMIN2, OTHER)
Prints a line per failure and "N passed, N failed" last.
"""
import datetime
import http.client
import json
import os
import re
import sys
import urllib.parse


def blocks(text):
    """(kind, content) of each fenced block of kind http or http-response."""
    for m in re.finditer(r"^```(http|http-response)\n(.*?)^```$", text, re.S | re.M):
        yield m.group(1), m.group(2)


def glob_match(expected, actual):
    pieces = expected.split("...")
    if not actual.startswith(pieces[0]):
        return False
    at = len(pieces[0])
    for piece in pieces[1:-1]:
        at = actual.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return actual[at:].endswith(pieces[-1]) if len(pieces) > 1 else actual == expected


def matches(expected, actual):
    if expected == "...":
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        if expected and expected[-1] == "...":
            head = expected[:-1]
            return len(actual) >= len(head) and all(matches(e, a) for e, a in zip(head, actual))
        return len(actual) == len(expected) and all(matches(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, str) and "..." in expected:
        return isinstance(actual, str) and glob_match(expected, actual)
    return expected == actual and type(expected) is type(actual) or (
        isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(actual, bool)
        and expected == actual)


def main():
    spec, base, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    values = {name: os.environ.get(name, "") for name in ("USER", "OPERATOR", "ADMIN", "ADMIN2", "OTHER")}
    values["NOW"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    values["RUN"] = "0"
    url = urllib.parse.urlsplit(base)
    passed = failed = 0
    pending = None
    for kind, content in blocks(open(spec, encoding="utf-8").read()):
        if kind == "http":
            pending = content
            continue
        if pending is None:
            print(f"FAIL a response block without its request: {content[:60]!r}")
            failed += 1
            continue
        request, pending = pending, None
        for name in sorted(values, key=len, reverse=True):
            request = request.replace("$" + name, values[name])
        head, _, body = request.partition("\n\n")
        lines = head.splitlines()
        method, path = lines[0].split(" ", 1)
        headers = dict(line.split(": ", 1) for line in lines[1:])
        if body.startswith("@") and "\n" not in body.strip():
            with open(os.path.join(workdir, body.strip()[1:]), "rb") as f:
                data = f.read()
        else:
            data = body.encode()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
        conn.request(method, path, body=data if data else None, headers=headers)
        response = conn.getresponse()
        got = response.read()
        conn.close()
        status_line, _, expected = content.partition("\n")
        saved = re.findall(r"^# saved as (\S+)$", expected, re.M)
        expected = re.sub(r"^# saved as \S+\n", "", expected, flags=re.M)
        for name in saved:
            with open(os.path.join(workdir, name), "wb") as f:
                f.write(got)
        what = f"{method} {path}"
        problems = []
        if response.status != int(status_line.strip()):
            problems.append(f"status {response.status}, not {status_line.strip()}")
        ctype = response.getheader("Content-Type", "")
        text = got.decode("utf-8", "replace")
        if ctype.startswith("application/json"):
            try:
                actual = json.loads(text)
                if expected.strip() and not matches(json.loads(expected), actual):
                    problems.append("the body does not match")
                if isinstance(actual, dict) and isinstance(actual.get("runs"), list) and actual["runs"]:
                    values["RUN"] = str(actual["runs"][0]["id"])
            except json.JSONDecodeError as e:
                problems.append(f"JSON: {e}")
        else:
            for line in expected.splitlines():
                if line.strip() and line not in text:
                    problems.append(f"missing line {line!r}")
        if problems:
            failed += 1
            print(f"FAIL example {what}: {'; '.join(problems)}\n  got: {text[:600]}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
