"""Whether a device computes in bfloat16 natively (for ``alia_encoder``'s ``bf16 = "auto"``).

bf16 autocast is fast only where the hardware has bf16 instructions: on a CPU, AVX512-BF16 or
AMX-BF16 (x86; read from ``/proc/cpuinfo`` on Linux, so other systems answer no); on CUDA,
``torch.cuda.is_bf16_supported()``. Elsewhere torch emulates bf16 and autocast is slower than
fp32, so ``auto`` keeps fp32 there. Reads no note data; writes nothing.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

logger = logging.getLogger("alia_clin")

#: CPU flags (``/proc/cpuinfo``) that mean native bfloat16 matrix arithmetic.
CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of the first processor listed in a ``/proc/cpuinfo`` text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@functools.lru_cache(maxsize=8)
def bf16_native(device: str = "cpu") -> bool:
    """Whether ``device`` (``cpu`` or ``cuda[:N]``) runs bf16 autocast natively (cached)."""
    if str(device).startswith("cuda"):
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    try:
        flags = cpu_flags(CPUINFO.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return False
    native = bool(flags & CPU_BF16_FLAGS)
    logger.debug("CPU bf16 instructions: %s", "yes" if native else "no")
    return native
