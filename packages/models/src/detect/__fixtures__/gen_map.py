#!/usr/bin/env python3
"""mAP fixtures for map.test.ts from pycocotools' own COCOeval (cocodataset/cocoapi PythonAPI).

pycocotools is not packaged for Debian bookworm, so this runs COCOeval from a source checkout:
    git clone https://github.com/cocodataset/cocoapi && /usr/bin/python3 gen_map.py cocoapi/PythonAPI
Its Cython `_mask` extension is not built: the only function the bbox evaluation calls, `iou(dt, gt, iscrowd)`,
is supplied in numpy below (xywh boxes, the formula of maskApi.c `bbIou`; no crowd boxes are used).
`coco.py` imports matplotlib for drawing only; it is replaced by an empty stand-in.
Writes map.json beside this file.
"""
import json
import sys
import types
from pathlib import Path
from unittest import mock

import numpy as np

HERE = Path(__file__).resolve().parent
API = Path(sys.argv[1] if len(sys.argv) > 1 else '/tmp/cocoapi/PythonAPI').resolve()
for name in ['matplotlib', 'matplotlib.pyplot', 'matplotlib.collections', 'matplotlib.patches']:
    sys.modules.setdefault(name, mock.MagicMock())


def bb_iou(dt, gt, iscrowd):
    dt = np.asarray(dt, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    out = np.zeros((len(dt), len(gt)))
    for g in range(len(gt)):
        ga = gt[g, 2] * gt[g, 3]
        for d in range(len(dt)):
            da = dt[d, 2] * dt[d, 3]
            w = min(dt[d, 0] + dt[d, 2], gt[g, 0] + gt[g, 2]) - max(dt[d, 0], gt[g, 0])
            h = min(dt[d, 1] + dt[d, 3], gt[g, 1] + gt[g, 3]) - max(dt[d, 1], gt[g, 1])
            if w <= 0 or h <= 0:
                continue
            inter = w * h
            u = da if iscrowd[g] else da + ga - inter
            out[d, g] = inter / u
    return out


# cocoapi master still uses np.float, removed in numpy 1.24.
if 'float' not in np.__dict__:
    np.float = float
stub = types.ModuleType('pycocotools._mask')
stub.iou = bb_iou
for fn in ['encode', 'decode', 'merge', 'area', 'toBbox', 'frPyObjects']:
    setattr(stub, fn, mock.MagicMock())
sys.modules['pycocotools._mask'] = stub
sys.path.insert(0, str(API))
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def make_case(seed, n_images, nc, fp_rate, jitter, many=False):
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for im in range(n_images):
        k = int(rng.integers(0, 6))
        xy = rng.random((k, 2)) * 80
        wh = rng.random((k, 2)) * 30 + 4
        g = np.concatenate([xy, xy + wh], 1).round(1)
        gl = rng.integers(0, nc, k)
        gts.append({'boxes': g.flatten().tolist(), 'labels': gl.tolist()})
        db, ds, dl = [], [], []
        for j in range(k):
            for _ in range(int(rng.integers(0, 3))):  # 0-2 detections per object (duplicates are false positives)
                b = g[j] + rng.normal(0, jitter, 4) * np.repeat(wh[j], 2)
                b[2:] = np.maximum(b[2:], b[:2] + 0.5)
                db.append(b.round(2).tolist())
                ds.append(round(float(rng.random()), 2))  # 2 decimals: many tied scores
                dl.append(int(gl[j]) if rng.random() > 0.1 else int(rng.integers(0, nc)))
        n_fp = int(rng.poisson(fp_rate)) + (120 if many and im == 0 else 0)
        for _ in range(n_fp):
            xy = rng.random(2) * 90
            b = np.concatenate([xy, xy + rng.random(2) * 20 + 2])
            db.append(b.round(2).tolist())
            ds.append(round(float(rng.random()) * 0.8, 2))
            dl.append(int(rng.integers(0, nc)))
        dets.append({'boxes': [v for b in db for v in b], 'scores': ds, 'labels': dl})
    return gts, dets


def coco_eval(gts, dets, nc):
    gt = COCO()
    anns, aid = [], 1
    for im, g in enumerate(gts):
        b = np.asarray(g['boxes']).reshape(-1, 4)
        for j, l in enumerate(g['labels']):
            x1, y1, x2, y2 = b[j]
            anns.append({'id': aid, 'image_id': im + 1, 'category_id': l + 1, 'bbox': [x1, y1, x2 - x1, y2 - y1],
                         'area': (x2 - x1) * (y2 - y1), 'iscrowd': 0})
            aid += 1
    gt.dataset = {'images': [{'id': i + 1} for i in range(len(gts))], 'annotations': anns,
                  'categories': [{'id': c + 1} for c in range(nc)]}
    gt.createIndex()
    res = []
    for im, d in enumerate(dets):
        b = np.asarray(d['boxes']).reshape(-1, 4)
        for j, l in enumerate(d['labels']):
            x1, y1, x2, y2 = b[j]
            res.append({'image_id': im + 1, 'category_id': l + 1, 'bbox': [x1, y1, x2 - x1, y2 - y1],
                        'score': d['scores'][j]})
    dt = gt.loadRes(res) if res else COCO()
    E = COCOeval(gt, dt, 'bbox')
    E.evaluate()
    E.accumulate()
    E.summarize()
    p = E.eval['precision'][:, :, :, 0, -1]  # [T, R, K] at area 'all', maxDets 100

    def mean_valid(a):
        a = a[a > -1]
        return float(np.mean(a)) if a.size else None

    return {
        'map': float(E.stats[0]), 'map50': float(E.stats[1]), 'map75': float(E.stats[2]),
        'perClass': [mean_valid(p[:, :, k]) for k in range(nc)],
        'perClass50': [mean_valid(p[0, :, k]) for k in range(nc)],
    }


def main():
    cases = []
    for name, seed, n, nc, fp, jit, many in [
        ('good detector', 1, 30, 3, 0.5, 0.03, False),
        ('noisy detector', 2, 40, 4, 2.0, 0.12, False),
        ('very noisy, 5 classes', 3, 25, 5, 3.0, 0.25, False),
        ('more than 100 detections in an image', 4, 10, 2, 1.0, 0.05, True),
    ]:
        gts, dets = make_case(seed, n, nc, fp, jit, many)
        cases.append({'name': name, 'numClasses': nc, 'groundTruth': gts, 'detections': dets,
                      'coco': coco_eval(gts, dets, nc)})
    (HERE / 'map.json').write_text(json.dumps({'source': 'pycocotools COCOeval (cocodataset/cocoapi 8c9bcc3)',
                                               'cases': cases}, separators=(',', ':')) + '\n')
    print([(c['name'], c['coco']['map'], c['coco']['map50']) for c in cases])


if __name__ == '__main__':
    main()
