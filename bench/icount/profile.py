#!/usr/bin/env python3
"""Where the instructions of a node run go, by wasm function and JIT code object.

    bench/icount/profile.sh WASM WORKLOAD ARG     (runs this on valgrind's output)

Reads a callgrind output written with --dump-instr=yes, the wasm code node printed with
--print-wasm-code (function index -> address range) and V8's perf map (--perf-basic-prof: JS
functions, builtins, js-to-wasm wrappers), and prints the self instruction counts of the JIT
code by function, largest first. Native code of node itself is one line, by callgrind's object.
"""
import bisect, re, sys

def profile(cg_path, code_path, map_path):

    ranges = []  # (start, end, name)
    name = None
    for line in open(code_path, errors="replace"):
        if line.startswith("name: "):
            name = line[6:].strip()
        m = re.match(r"^0x([0-9a-f]+)\s+([0-9a-f]+)\s", line)
        if m and name:
            addr = int(m.group(1), 16)
            if ranges and ranges[-1][2] == name and ranges[-1][1] >= addr - 16:
                ranges[-1] = (ranges[-1][0], addr + 16, name)
            else:
                ranges.append((addr, addr + 16, name))
        if line.startswith("--- End code"):
            name = None
    for line in open(map_path, errors="replace"):
        parts = line.split(" ", 2)
        if len(parts) == 3:
            a, n = int(parts[0], 16), int(parts[1], 16)
            ranges.append((a, a + n, parts[2].strip()))
    ranges.sort()
    starts = [r[0] for r in ranges]

    def lookup(addr):
        i = bisect.bisect_right(starts, addr) - 1
        # later (re)compilations of the same range win: scan back over overlapping entries
        while i >= 0 and ranges[i][0] <= addr:
            if addr < ranges[i][1]:
                return ranges[i][2]
            i -= 1
        return None

    # callgrind format: cost lines "pos cost" where pos is 0xADDR, +N, -N or *; a line after
    # calls= holds inclusive cost of the call (skipped: self cost only).
    totals = {}
    obj = fn = None
    names = {"ob": {}, "fn": {}}
    addr = 0
    skip_next = False
    pos_cols = 1
    for line in open(cg_path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("positions:"):
            pos_cols = len(line.split()) - 1
            continue
        m = re.match(r"^(ob|fn|cob|cfn|fl|fi|fe|cfi|cfl)=(?:\((\d+)\))?\s*(.*)$", line)
        if m:
            kind, ident, text = m.groups()
            key = "ob" if kind in ("ob", "cob") else "fn" if kind in ("fn", "cfn") else None
            if key and ident is not None:
                if text:
                    names[key][ident] = text
                text = names[key].get(ident, text)
            if kind == "ob":
                obj = text
            elif kind == "fn":
                fn = text
            continue
        if line.startswith("calls="):
            skip_next = True
            continue
        if not line or not (line[0] in "+-*0123456789"):
            continue
        fields = line.split()
        p = fields[0]
        if p.startswith("0x"):
            addr = int(p, 16)
        elif p.startswith("+"):
            addr += int(p[1:], 16) if p[1:].startswith("0x") else int(p[1:])
        elif p.startswith("-"):
            addr -= int(p[1:], 16) if p[1:].startswith("0x") else int(p[1:])
        elif p == "*":
            pass
        else:
            addr = int(p)
        costs = fields[pos_cols:]
        if skip_next:
            skip_next = False
            continue
        if not costs:
            continue
        c = int(costs[0])
        # JIT code (object ???) and V8's builtins embedded in node's binary are in the maps
        key = lookup(addr) if obj is None or "???" in obj or obj.endswith("/node") else None
        if key is None:
            key = f"[native] {obj}"
        totals[key] = totals.get(key, 0) + c
    return totals


args = sys.argv[1:]
top = int(args.pop()) if len(args) in (4, 7) else 40
totals = profile(*args[0:3])
if len(args) == 6:
    # the difference between two runs (the larger first), so node's start-up cancels
    base = profile(*args[3:6])
    for k, v in base.items():
        totals[k] = totals.get(k, 0) - v
total = sum(totals.values())
print(f"total {total:,}")
for k, v in sorted(totals.items(), key=lambda kv: -abs(kv[1]))[:top]:
    print(f"{v:>15,} {100 * v / total:5.1f}%  {k}")
