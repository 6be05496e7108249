#!/usr/bin/env python3
"""Validate the retrieval benchmark files kb.json and questions.json.

Usage: python3 check.py [DIR]   (DIR defaults to the directory of this script)

Prints a summary and exits with status 1 if any rule is violated.
"""
import collections
import json
import os
import re
import sys

LANGS = {"english": "en-", "german": "de-"}
KINDS = ("direct", "paraphrase", "misspelled")
DOC_KEYS = {"id", "language", "title", "content", "source_url"}
Q_KEYS = {"q", "language", "expected", "kind"}

MIN_DOCS = {"english": 30, "german": 26}
MIN_DOCS_TOTAL = 56
MIN_QUESTIONS = {"english": 110, "german": 90}
MIN_QUESTIONS_TOTAL = 210
PER_DOC_MIN, PER_DOC_MAX = 2, 7
WORDS_MIN, WORDS_MAX = 120, 350
URL_SHARE = (0.40, 0.60)            # share of documents with a source_url
KIND_SHARE = {                      # allowed share of each question kind
    "direct": (0.35, 0.55),
    "paraphrase": (0.30, 0.50),
    "misspelled": (0.10, 0.20),
}
ID_RE = re.compile(r"^(en|de)-[a-z0-9]+(-[a-z0-9]+)*$")

errors = []


def err(msg):
    errors.append(msg)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        print(f"FATAL: cannot load {path}: {e}")
        sys.exit(1)
    if not isinstance(data, list):
        print(f"FATAL: {path} must contain a JSON array")
        sys.exit(1)
    return data


def check_docs(docs):
    ids = collections.Counter()
    by_lang = collections.Counter()
    with_url = 0
    for i, d in enumerate(docs):
        where = f"kb[{i}]"
        if not isinstance(d, dict):
            err(f"{where}: not an object")
            continue
        if set(d) != DOC_KEYS:
            err(f"{where}: keys {sorted(d)} != {sorted(DOC_KEYS)}")
        did = d.get("id")
        if not isinstance(did, str) or not ID_RE.match(did):
            err(f"{where}: bad id {did!r}")
            did = str(did)
        where = f"doc {did}"
        ids[did] += 1
        lang = d.get("language")
        if lang not in LANGS:
            err(f"{where}: bad language {lang!r}")
        else:
            by_lang[lang] += 1
            if not did.startswith(LANGS[lang]):
                err(f"{where}: id prefix does not match language {lang}")
        if not isinstance(d.get("title"), str) or not d["title"].strip():
            err(f"{where}: empty title")
        content = d.get("content")
        if not isinstance(content, str):
            err(f"{where}: content is not a string")
        else:
            if not content.lstrip().startswith("# "):
                err(f"{where}: content does not start with a '# ' heading")
            n = len(re.findall(r"\w+", content))
            if not WORDS_MIN <= n <= WORDS_MAX:
                err(f"{where}: {n} words, expected {WORDS_MIN}-{WORDS_MAX}")
        url = d.get("source_url")
        if url is not None:
            if not isinstance(url, str) or not url.startswith("https://nordlicht.example/"):
                err(f"{where}: bad source_url {url!r}")
            else:
                with_url += 1
    for did, n in ids.items():
        if n > 1:
            err(f"duplicate document id {did} ({n}x)")
    for lang, n in MIN_DOCS.items():
        if by_lang[lang] < n:
            err(f"only {by_lang[lang]} {lang} documents, need >= {n}")
    if len(docs) < MIN_DOCS_TOTAL:
        err(f"only {len(docs)} documents, need >= {MIN_DOCS_TOTAL}")
    share = with_url / len(docs) if docs else 0
    if not URL_SHARE[0] <= share <= URL_SHARE[1]:
        err(f"{with_url}/{len(docs)} documents have a source_url, expected about half")
    return {d.get("id"): d.get("language") for d in docs if isinstance(d, dict)}, by_lang, with_url


def check_questions(questions, doc_lang):
    by_lang = collections.Counter()
    by_kind = collections.Counter()
    by_lang_kind = collections.Counter()
    per_doc = collections.Counter()
    seen = collections.Counter()
    for i, q in enumerate(questions):
        where = f"questions[{i}]"
        if not isinstance(q, dict):
            err(f"{where}: not an object")
            continue
        if set(q) != Q_KEYS:
            err(f"{where}: keys {sorted(q)} != {sorted(Q_KEYS)}")
        text = q.get("q")
        if not isinstance(text, str) or not text.strip():
            err(f"{where}: empty question")
        else:
            where = f"{where} {text!r}"
            seen[text.strip().lower()] += 1
        lang, kind, exp = q.get("language"), q.get("kind"), q.get("expected")
        if lang not in LANGS:
            err(f"{where}: bad language {lang!r}")
        if kind not in KINDS:
            err(f"{where}: bad kind {kind!r}")
        if exp not in doc_lang:
            err(f"{where}: expected id {exp!r} does not exist")
        elif doc_lang[exp] != lang:
            err(f"{where}: language {lang} but expected doc {exp} is {doc_lang[exp]}")
        by_lang[lang] += 1
        by_kind[kind] += 1
        by_lang_kind[(lang, kind)] += 1
        per_doc[exp] += 1
    for text, n in seen.items():
        if n > 1:
            err(f"duplicate question {text!r} ({n}x)")
    for did in doc_lang:
        n = per_doc.get(did, 0)
        if not PER_DOC_MIN <= n <= PER_DOC_MAX:
            err(f"doc {did}: expected answer of {n} questions, need {PER_DOC_MIN}-{PER_DOC_MAX}")
    for lang, n in MIN_QUESTIONS.items():
        if by_lang[lang] < n:
            err(f"only {by_lang[lang]} {lang} questions, need >= {n}")
    total = len(questions)
    if total < MIN_QUESTIONS_TOTAL:
        err(f"only {total} questions, need >= {MIN_QUESTIONS_TOTAL}")
    for kind, (lo, hi) in KIND_SHARE.items():
        share = by_kind[kind] / total if total else 0
        if not lo <= share <= hi:
            err(f"kind {kind}: {share:.0%} of questions, expected {lo:.0%}-{hi:.0%}")
    return by_lang, by_kind, by_lang_kind, per_doc


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    docs = load(os.path.join(base, "kb.json"))
    questions = load(os.path.join(base, "questions.json"))

    doc_lang, docs_by_lang, with_url = check_docs(docs)
    q_by_lang, q_by_kind, q_by_lang_kind, per_doc = check_questions(questions, doc_lang)

    total_q = len(questions) or 1
    print(f"documents: {len(docs)} "
          f"(english {docs_by_lang['english']}, german {docs_by_lang['german']}; "
          f"{with_url} with source_url, {len(docs) - with_url} null)")
    print(f"questions: {len(questions)} "
          f"(english {q_by_lang['english']}, german {q_by_lang['german']})")
    for kind in KINDS:
        print(f"  {kind:<11} {q_by_kind[kind]:>4}  {q_by_kind[kind] / total_q:5.1%}   "
              f"english {q_by_lang_kind[('english', kind)]:>3}  "
              f"german {q_by_lang_kind[('german', kind)]:>3}")
    counts = [per_doc.get(d, 0) for d in doc_lang]
    if counts:
        hist = collections.Counter(counts)
        print(f"questions per document: min {min(counts)}, max {max(counts)}, "
              f"histogram {dict(sorted(hist.items()))}")

    if errors:
        print(f"\nFAILED: {len(errors)} violation(s)")
        for e in errors:
            print("  - " + e)
        sys.exit(1)
    print("\nOK: all checks passed")


if __name__ == "__main__":
    main()
