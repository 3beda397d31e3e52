"""run_checks.py's verdicts: a GPU run cannot pass on a skipped test, a cut-short benchmark or a step
that did not run.  /usr/bin/python3 -m unittest discover -s benchmarks/gpu"""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run_checks as rc  # noqa: E402

CONSOLE = """
Test run finished after 5783 ms
[        19 containers found      ]
[         0 containers skipped    ]
[        19 containers started    ]
[         0 containers aborted    ]
[        19 containers successful ]
[         0 containers failed     ]
[       131 tests found           ]
[         %d tests skipped         ]
[       131 tests started         ]
[         %d tests aborted         ]
[       %d tests successful      ]
[         %d tests failed          ]
"""


def console(skipped=0, aborted=0, successful=131, failed=0):
    return CONSOLE % (skipped, aborted, successful, failed)


class JUnitTest(unittest.TestCase):
    def test_all_passed(self):
        ok, reason = rc.junit_verdict(rc.junit_counts(console()), 100)
        self.assertTrue(ok, reason)

    def test_an_aborted_or_skipped_test_fails_the_step(self):
        for kw in ({"aborted": 1, "successful": 130}, {"skipped": 2, "successful": 129}, {"failed": 1}):
            ok, reason = rc.junit_verdict(rc.junit_counts(console(**kw)), 100)
            self.assertFalse(ok, kw)
            self.assertRegex(reason, r"\d+ tests (aborted|skipped|failed)")

    def test_too_few_tests_or_no_summary_fails(self):
        self.assertFalse(rc.junit_verdict(rc.junit_counts(console(successful=5)), 6)[0])
        ok, reason = rc.junit_verdict(rc.junit_counts("Exception in thread main"), 1)
        self.assertFalse(ok)
        self.assertIn("no JUnit summary", reason)

    def test_a_failed_container_fails(self):
        text = console().replace("[         0 containers failed     ]", "[         3 containers failed     ]")
        self.assertFalse(rc.junit_verdict(rc.junit_counts(text), 1)[0])


class BenchTest(unittest.TestCase):
    MEASURED = {"model": "mtdl", "batch": 1, "precision": "fp32", "p50_ms": 2.0, "mallocs_during_timing": 0}
    REFUSED = {"model": "mtdl", "batch": 1, "precision": "bf16", "refused": "bf16 is not built"}

    def test_java_bench(self):
        self.assertTrue(rc.java_bench_verdict({"complete": True, "results": [self.MEASURED, self.REFUSED]})[0])
        for doc in ({"complete": False, "results": [self.MEASURED]},
                    {"complete": True, "results": [self.REFUSED]},
                    {"complete": True, "results": [self.MEASURED, dict(self.MEASURED, error="CudaException: oom")]},
                    {"complete": True, "results": [dict(self.MEASURED, mallocs_during_timing=2)]},
                    {"complete": True, "results": [{"model": "stdl", "batch": 8, "precision": "fp16"}]},
                    {"unreadable": "Expecting value"}):
            self.assertFalse(rc.java_bench_verdict(doc)[0], doc)

    def test_torch_bench(self):
        ok_row = {"model": "mtdl", "batch": 1, "precision": "fp32", "variant": "eager_ncdhw", "status": "ok"}
        self.assertTrue(rc.torch_bench_verdict({"complete": True, "results": [ok_row]})[0])
        skipped = dict(ok_row, status="skipped", error="time budget spent")
        self.assertFalse(rc.torch_bench_verdict({"complete": True, "results": [ok_row, skipped]})[0])
        self.assertFalse(rc.torch_bench_verdict({"complete": False, "results": [ok_row]})[0])
        self.assertFalse(rc.torch_bench_verdict({"complete": True, "results": []})[0])


class SegmentTest(unittest.TestCase):
    """The label maps are read without nibabel (the GPU image has none); nibabel writes them here."""

    def write(self, d, name, labels):
        import nibabel as nib
        path = os.path.join(d, name)
        nib.save(nib.Nifti1Image(labels, affine=[[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 1]]), path)
        return path

    def test_read_back_as_nibabel_wrote_it(self):
        import numpy as np
        labels = np.random.default_rng(3).integers(0, 3, size=(7, 5, 4)).astype(np.uint8)
        with tempfile.TemporaryDirectory() as d:
            shape, data = rc.nifti_labels(self.write(d, "a.nii.gz", labels))
        self.assertEqual((7, 5, 4), shape)
        self.assertTrue(np.array_equal(labels, data.reshape(shape, order="F")))

    def test_agreement_bar(self):
        import numpy as np
        labels = np.zeros((20, 20, 10), np.uint8)
        labels[5:15, 5:15, 2:8] = 1
        one_off = labels.copy()
        one_off[0, 0, 0] = 2  # 1 voxel of 4000 differs: 99.975% alike
        many_off = labels.copy()
        many_off[:, :, 0] = 2  # 400 of 4000
        with tempfile.TemporaryDirectory() as d:
            cpu = self.write(d, "cpu.nii.gz", labels)
            self.assertTrue(rc.segment_verdict(cpu, self.write(d, "same.nii.gz", labels))[0])
            self.assertTrue(rc.segment_verdict(cpu, self.write(d, "one.nii.gz", one_off))[0])
            ok, reason = rc.segment_verdict(cpu, self.write(d, "many.nii.gz", many_off))
            self.assertFalse(ok)
            self.assertIn("90.0000% of 4000 voxels", reason)
            self.assertFalse(rc.segment_verdict(cpu, self.write(d, "small.nii.gz", labels[:, :, :5]))[0])
            empty = self.write(d, "empty.nii.gz", np.zeros_like(labels))
            self.assertFalse(rc.segment_verdict(empty, empty)[0])


class VerdictTest(unittest.TestCase):
    def steps(self, *statuses):
        return [{"step": "s%d" % i, "status": s} for i, s in enumerate(statuses)]

    def test_exit_codes(self):
        self.assertEqual(("pass", 0), rc.verdict(self.steps("pass", "pass")))
        self.assertEqual(("fail", 1), rc.verdict(self.steps("pass", "fail")))
        self.assertEqual(("partial", 3), rc.verdict(self.steps("pass", "not-selected")))
        self.assertEqual(("fail", 1), rc.verdict(self.steps("fail", "not-selected")))

    def test_summary_writes_the_json_and_returns_the_exit_code(self):
        with tempfile.TemporaryDirectory() as d:
            tsv = os.path.join(d, "steps.tsv")
            with open(tsv, "w") as f:
                f.write("unpack\tpass\t3\t15\tJava 25\nenv\tfail\t2\t20\tno nvidia-smi\n")
            table = io.StringIO()
            with contextlib.redirect_stdout(table):
                code = rc.main(["summary", "--steps", tsv, "--out", d, "--work", d, "--elapsed", "5", "--deadline", "420"])
            self.assertEqual(1, code)
            self.assertIn("FAIL in 5s (deadline 420s): failed env; exit 1", table.getvalue())
            doc = rc.load_json(os.path.join(d, "gpu-run.json"))
            self.assertEqual("fail", doc["result"])
            self.assertEqual({"step": "env", "status": "fail", "seconds": 2, "budget_s": 20, "reason": "no nvidia-smi"},
                             doc["steps"][1])


if __name__ == "__main__":
    unittest.main()
