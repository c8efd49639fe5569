"""Drawing a widget's picture must not switch matplotlib's backend.

In a notebook the backend is the inline one; a widget that called ``matplotlib.use("Agg")`` once
made every later ``plt.show()`` in that notebook display nothing (4.3 lost its GAN samples that
way). The check runs in a fresh interpreter with the notebook's backend, so nothing leaks into
the other tests.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import matplotlib
    import torch
    from torch import nn

    from coursekit.nn.attention import NonLocalBlock
    from coursekit.widgets import latent, traversal
    from coursekit.widgets.attention import AttentionProbe
    from coursekit.widgets.receptive_field import ReceptiveFieldProbe

    before = matplotlib.get_backend()
    probe = AttentionProbe(nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), NonLocalBlock(8)), torch.rand(2, 1, 8, 8))
    probe.widget()
    ReceptiveFieldProbe()
    latent.to_png(torch.rand(2, 3, 8, 8))
    traversal.to_png(torch.rand(3, 8, 8))
    print(before, "->", matplotlib.get_backend())
""")


def test_widgets_leave_the_inline_backend_alone():
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    before, after = out.stdout.strip().splitlines()[-1].split(" -> ")
    assert before == "module://matplotlib_inline.backend_inline" and after == before
