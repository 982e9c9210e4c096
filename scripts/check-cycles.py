#!/usr/bin/env python3
"""Finds circles between the modules of a Rust crate: fails if module A names module B and B,
directly or through others, names A.

Usage: scripts/check-cycles.py [--edges] SRC_DIR [SRC_DIR...]   e.g. crates/breaker/src
(--edges: print every edge too, with the lines that make it)

A circle means neither module can be read, tested or changed without the other; each one found
is printed with the lines that make its edges, and the exit status is 1.

The graph, read from the source text alone (no compiler):
- one node per module file: `foo.rs` or `foo/mod.rs` is module `foo`, `foo/bar.rs` is
  `foo::bar`. The crate roots (`lib.rs`, `main.rs`, `src/bin/`) are not nodes: the library's
  root declares every module and re-exports their items, so counted as a node it would sit in a
  circle with every module that names a re-export; a binary is a crate of its own.
- an edge X -> Y when X's code names a path into Y, written `crate::Y...` or `super::Y...`
  (resolved from X, or from the inline module it is written in): in code, in a `use` (braces
  expanded) or in an intra-doc link in a doc comment. The path goes to the deepest module file
  it names; `super::item` from `a::b` is an edge to `a`, its parent. A path that names only the
  root's items (a re-export) makes no edge.
- not edges: a module's paths into its own children (the parent declares them with `mod y;` and
  re-exports their items; the tree already ties the two, and a child naming its parent is what
  counts), paths that start with a bare module name (`child::item`: telling them from other
  crates' names needs the compiler), text inside `#[cfg(test)]` modules, ordinary comments and
  string literals.

Python 3 standard library only.
"""

import os
import re
import sys

IDENT = r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*"


def blank(text, start, end, out):
    """Replaces text[start:end] by spaces in `out` (a list of characters), keeping newlines so
    that offsets and line numbers stay those of the source."""
    for i in range(start, end):
        if text[i] != "\n":
            out[i] = " "


def views(text):
    """Two copies of the source, each as long as it, with lines where they were:

    - `code`: ordinary and doc comments and the contents of string and char literals blanked,
      so that braces and keywords in it are the program's own;
    - `mentions`: the same but doc comments kept, for their intra-doc links.
    """
    code = list(text)
    mentions = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            end = text.find("\n", i)
            end = n if end == -1 else end
            rest = text[i + 2 : i + 4]
            doc = (rest[:1] == "/" and rest != "//") or rest[:1] == "!"
            blank(text, i, end, code)
            if not doc:
                blank(text, i, end, mentions)
            i = end
        elif c == "/" and nxt == "*":
            # Block comments nest.
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            rest = text[i + 2 : i + 4]
            doc = (rest[:1] == "*" and rest not in ("**", "*/")) or rest[:1] == "!"
            blank(text, i, j, code)
            if not doc:
                blank(text, i, j, mentions)
            i = j
        elif c == '"' or (c in "rbc" and not is_ident_char(text, i - 1) and raw_start(text, i)):
            j = skip_string(text, i)
            blank(text, i, j, code)
            blank(text, i, j, mentions)
            i = j
        elif c == "'":
            # A char literal ('x', '\n', '"') or a lifetime ('a), which is left as it is.
            if nxt == "\\":
                j = text.find("'", i + 3)
                j = n if j == -1 else j + 1
            elif i + 2 < n and text[i + 2] == "'":
                j = i + 3
            else:
                i += 1
                continue
            blank(text, i, j, code)
            blank(text, i, j, mentions)
            i = j
        elif is_ident_char(text, i):
            # A whole identifier at once, so that the `r` of `for"` or the `b` of `sub"` is
            # never read as a string prefix.
            j = i
            while j < n and is_ident_char(text, j):
                j += 1
            i = j
        else:
            i += 1
    return "".join(code), "".join(mentions)


def is_ident_char(text, i):
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def raw_start(text, i):
    """True if a string literal with a prefix (r"", r#""#, b"", br"", c"", cr"") starts at i."""
    m = re.match(r'(?:b|c)?r#*"|(?:b|c)"', text[i : i + 64])
    return m is not None


def skip_string(text, i):
    """The offset just past the string literal that starts at i (with or without a prefix)."""
    m = re.match(r'(b|c)?(r)?(#*)"', text[i : i + 64])
    hashes = m.group(3)
    j = i + m.end()
    if m.group(2):  # raw: no escapes, ends at the quote followed by as many hashes
        end = text.find('"' + hashes, j)
        return len(text) if end == -1 else end + 1 + len(hashes)
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text[j] == '"':
            return j + 1
        else:
            j += 1
    return len(text)


def matching_brace(code, open_at):
    """The offset of the `}` that closes the `{` at open_at (code has no comments or strings)."""
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


MOD_BLOCK = re.compile(r"\bmod\s+(" + IDENT + r")\s*\{")
TEST_CFG = re.compile(r"#\s*\[\s*cfg\s*\(\s*(?:test\s*\)|all\s*\(\s*test\b)")


def inline_modules(code):
    """The inline modules (`mod name { ... }`) of a file: (start, end, name, is_test), where a
    test module is one with `#[cfg(test)]` (or `cfg(all(test, ...))`) among its attributes."""
    found = []
    for m in MOD_BLOCK.finditer(code):
        # The attributes of this item: back to the end of the previous item or block.
        before = code[: m.start()]
        cut = max(before.rfind(";"), before.rfind("}"), before.rfind("{"))
        is_test = TEST_CFG.search(before[cut + 1 :]) is not None
        open_at = m.end() - 1
        found.append((open_at, matching_brace(code, open_at), m.group(1), is_test))
    return found


PATH_START = re.compile(r"(?<![A-Za-z0-9_:])\$?(crate|super)(?=\s*::)")


def parse_tree(text, i):
    """Reads the rest of a path from i (just past its first segment): `::seg::seg`, then maybe
    `::{tree, tree}` or `::*`. Returns (list of (segments, offset of the last segment)), end)."""
    segs, at = [], i
    while True:
        m = re.match(r"\s*::\s*", text[i:])
        if not m:
            return [(segs, at)], i
        j = i + m.end()
        if text.startswith("{", j):
            leaves, j = [], j + 1
            while True:
                m2 = re.match(r"[\s,]*", text[j:])
                j += m2.end()
                if j >= len(text) or text[j] == "}":
                    return [(segs + s, a) for s, a in leaves] or [(segs, at)], j + 1
                m3 = re.match(IDENT, text[j:])
                if not m3:  # `*` or something unexpected: skip one character
                    j += 1
                    continue
                first = m3.group(0)
                sub, j = parse_tree(text, j + m3.end())
                for s, a in sub:
                    if first == "self" and not s:
                        leaves.append(([], j))
                    else:
                        leaves.append(([first] + s, a if s else j - len(first)))
        m2 = re.match(IDENT, text[j:])
        if not m2:
            return [(segs, at)], j
        segs.append(m2.group(0).removeprefix("r#"))
        at = j
        i = j + m2.end()


def resolve(start, here, segs):
    """The absolute module path named by `start::segs` (start: crate or super) written in module
    `here` (a list), or None if it climbs above the crate root."""
    if start == "crate":
        base = []
    else:
        if not here:
            return None
        base = list(here[:-1])
    while segs and segs[0] == "super":
        if not base:
            return None
        base, segs = base[:-1], segs[1:]
    return base + list(segs)


def module_files(src):
    """{module path tuple: file path} for every module file under src, roots left out."""
    modules = {}
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts[:1] == ["bin"]:
            dirnames[:] = []
            continue
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".rs"):
                continue
            if not parts and name in ("lib.rs", "main.rs"):
                continue
            path = parts if name == "mod.rs" else parts + [name[:-3]]
            modules[tuple(path)] = os.path.join(dirpath, name)
    return modules


def test_module_files(modules):
    """The module files declared under `#[cfg(test)]` (`#[cfg(test)] mod tests;`): code that
    only the tests build, left out like inline test modules."""
    declared_for_tests = set()
    for module, path in modules.items():
        with open(path, encoding="utf-8") as f:
            code, _ = views(f.read())
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*;", code):
            before = code[: m.start()]
            cut = max(before.rfind(";"), before.rfind("}"), before.rfind("{"))
            if TEST_CFG.search(before[cut + 1 :]):
                declared_for_tests.add(module + (m.group(1),))
    # A test module's own children are test code too.
    return {m for m in modules if any(m[: len(t)] == t for t in declared_for_tests)}


def edges_of(module, path, modules):
    """{target module: [(line number, line)]} for the paths file `path` (module `module`) names."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    code, mentions = views(text)
    blocks = inline_modules(code)
    lines = text.split("\n")
    found = {}
    for m in PATH_START.finditer(mentions):
        at = m.start()
        enclosing = [b for b in blocks if b[0] < at < b[1]]
        if any(b[3] for b in enclosing):
            continue  # test code
        here = list(module) + [b[2].removeprefix("r#") for b in sorted(enclosing)]
        for segs, seg_at in parse_tree(mentions, m.end())[0]:
            target = resolve(m.group(1), here, segs)
            if target is None:
                continue
            # The deepest module file the path names.
            while target and tuple(target) not in modules:
                target = target[:-1]
            target = tuple(target)
            if not target or target[: len(module)] == module:
                continue  # the root, the module itself or one of its children
            line_no = mentions.count("\n", 0, seg_at) + 1
            found.setdefault(target, [])
            if all(n != line_no for n, _ in found[target]):
                found[target].append((line_no, lines[line_no - 1].strip()))
    return found


def strongly_connected(graph):
    """Tarjan's algorithm: the strongly connected components of graph {node: iterable of nodes}."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def name(module):
    return "::".join(module)


def check(src, show_edges=False):
    """Prints the circles of the crate whose source is in src; returns how many there are."""
    modules = module_files(src)
    tests_only = test_module_files(modules)
    graph, why = {}, {}
    for module, path in modules.items():
        if module in tests_only:
            continue
        graph[module] = set()
        for target, where in edges_of(module, path, modules).items():
            if target in tests_only:
                continue
            graph[module].add(target)
            why[(module, target)] = (path, where)
    circles = [c for c in strongly_connected(graph) if len(c) > 1]
    edges = sum(len(t) for t in graph.values())
    if show_edges:
        for source in sorted(graph):
            for target in sorted(graph[source]):
                print(f"{name(source)} -> {name(target)}")
                path, where = why[(source, target)]
                for line_no, line in where:
                    print(f"    {path}:{line_no}: {line}")
    if not circles:
        print(f"{src}: no circle between its {len(graph)} modules ({edges} edges)")
        return 0
    print(f"{src}: {len(circles)} circle(s) between its {len(graph)} modules ({edges} edges)")
    for component in circles:
        print(f"  circle: {' <-> '.join(name(m) for m in component)}")
        members = set(component)
        for source in component:
            for target in sorted(graph[source] & members):
                path, where = why[(source, target)]
                print(f"    {name(source)} -> {name(target)}")
                for line_no, line in where:
                    print(f"      {path}:{line_no}: {line}")
    return len(circles)


def main(argv):
    args = argv[1:]
    show_edges = "--edges" in args
    dirs = [a for a in args if a != "--edges"]
    if not dirs or any(a.startswith("-") for a in dirs):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    total = 0
    for src in dirs:
        if not os.path.isdir(src):
            print(f"{src}: not a directory", file=sys.stderr)
            return 2
        total += check(src, show_edges)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
