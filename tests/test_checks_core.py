import torch
from _solutions import solution_function  # the solution notebooks' answers

from coursekit.checks import exercise, expect_close, expect_equal, expect_shape
from coursekit.checks.welcome import check_conv_output_size, conv_output_size


@exercise("doubling")
def check_double(fn):
    x = torch.randn(3, 4)
    expect_close(fn(x), 2 * x, "double(x)", hint="multiply by two")


def test_statuses_and_hints(capsys):
    assert check_double(lambda x: 2 * x).status == "passed"
    r = check_double(lambda x: 3 * x, quiet=True)
    assert r.status == "failed" and r.hint == "multiply by two" and "relative error" in r.message
    assert not r

    def todo(x):
        raise NotImplementedError()

    assert check_double(todo, quiet=True).status == "not done"
    r = check_double(lambda x: x.reshape(5, 5), quiet=True)
    assert r.status == "error" and "RuntimeError" in r.message and "x.reshape(5, 5)" in r.message
    assert check_double(lambda x: (2 * x).T, quiet=True).status == "failed"
    assert check_double(lambda x: (2 * x).tolist(), quiet=True).status == "failed"
    assert check_double(lambda x: x * float("nan"), quiet=True).message.endswith("NaN or inf")
    check_double(lambda x: 2 * x)
    assert "✅ doubling" in capsys.readouterr().out


def test_expect_helpers_report_expected_and_got():
    @exercise("shape")
    def check(fn):
        expect_shape(fn(), (2, 3), "out")
        expect_equal(fn().sum().item(), 0.0, "sum")

    assert "expected shape (2, 3), got (3, 2)" in check(lambda: torch.zeros(3, 2), quiet=True).message
    assert "expected a torch.Tensor" in check(lambda: [0], quiet=True).message
    assert check(lambda: torch.zeros(2, 3), quiet=True)


def test_reference_conv_output_size_matches_a_real_convolution():
    import random

    rng = random.Random(0)
    for _ in range(50):
        n, k, s, p, d = rng.randint(9, 40), rng.choice([1, 3, 5]), rng.choice([1, 2, 3]), rng.randint(0, 2), rng.choice([1, 2])
        if n + 2 * p < d * (k - 1) + 1:
            continue
        out = torch.nn.functional.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert out.shape[-1] == conv_output_size(n, k, s, p, d)


def test_welcome_check_passes_reference_and_fails_realistic_mistakes():
    assert check_conv_output_size(solution_function("check_conv_output_size"), quiet=True)
    assert check_conv_output_size(conv_output_size, quiet=True).status == "failed"  # the reference is off
    no_dilation = lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - (k - 1) - 1) // stride + 1
    true_division = lambda n, k, stride=1, padding=0, dilation=1: (n + 2 * padding - dilation * (k - 1) - 1) / stride + 1
    one_padding = lambda n, k, stride=1, padding=0, dilation=1: (n + padding - dilation * (k - 1) - 1) // stride + 1
    for wrong in (no_dilation, true_division, one_padding):
        r = check_conv_output_size(wrong, quiet=True)
        assert r.status == "failed" and r.hint, wrong
