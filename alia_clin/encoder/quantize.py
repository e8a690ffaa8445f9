"""Load-time int8 dynamic quantization of an encoder's Linear layers (CPU inference only).

Reads a float :class:`~alia_clin.encoder.loading.LoadedEncoder` and replaces, in place, the
``torch.nn.Linear`` modules of its transformer layers by dynamically quantized ones: int8
weights with one scale per output channel (``per_channel_dynamic_qconfig``), activations
quantized per batch at run time, accumulation in int32, output in float32. Embeddings,
layer norms and the task heads stay float32. Nothing is written to disk: the saved weights of
a pipeline stay float (see :class:`~alia_clin.pipeline.encoder.EncoderComponent`), and
quantization is repeated each time the weights are loaded.

Modes (:data:`QUANTIZE_MODES`):

* ``"none"``: leave the model as it is;
* ``"int8"``: every Linear layer of the encoder (attention projections and feed-forward);
* ``"int8-qkv"``: only the attention query/key/value projections (BERT/RoBERTa
  ``attention.self.query|key|value``, ModernBERT ``attn.Wqkv``), a quarter of the encoder's
  Linear work. The feed-forward layers, whose inputs carry activation outliers that per-tensor
  int8 activations clip badly, stay float: on the trained e5-small pipeline quantizing them
  is what costs most accuracy (``benchmarks/README.md``).

Implementation: ``torch.ao.quantization.quantize_dynamic`` with x86/fbgemm kernels. PyTorch
marks ``torch.ao.quantization`` as deprecated in favour of ``torchao``'s ``quantize_`` but still
ships and runs it in torch 2.13; its deprecation warnings are silenced here, and a
``torchao`` port is the migration path once ``torch.ao.quantization`` is removed.
Quantized modules run on CPU only: a CUDA encoder raises ``E250``. Whether int8 keeps
accuracy is a per-model question: ``benchmarks/encoder_benchmark.py`` measures it.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from .loading import LoadedEncoder

logger = logging.getLogger("alia_clin")

#: Accepted values of the ``quantize`` setting of ``alia_encoder``.
QUANTIZE_MODES = ("none", "int8", "int8-qkv")

#: Qualified module names of attention q/k/v projections (BERT/XLM-R/RoBERTa and ModernBERT).
_QKV_NAME = re.compile(r"(?:^|\.)(?:attention\.self\.(?:query|key|value)|attn\.Wqkv)$")


def check_quantize_mode(mode: str, *, device: str = "cpu", bf16: bool = False) -> None:
    """Validate a ``quantize`` setting against the device and bf16 settings.

    Raises ``E107`` (unknown mode), ``E250`` (int8 on a non-CPU device) or ``E251`` (int8
    together with bf16 autocast, which quantized kernels do not support).
    """
    if mode not in QUANTIZE_MODES:
        choices = ", ".join(QUANTIZE_MODES)
        raise AliaClinValueError(ErrorCode.E107, value=mode, field="quantize", choices=choices)
    if mode == "none":
        return
    if not str(device).startswith("cpu"):
        raise AliaClinValueError(ErrorCode.E250, mode=mode, device=device)
    if bf16:
        raise AliaClinValueError(ErrorCode.E251, mode=mode)


def quantizable_linear_names(model: Any, mode: str) -> list[str]:
    """Qualified names of the ``nn.Linear`` modules of ``model`` that ``mode`` quantizes."""
    import torch

    if mode == "none":
        return []
    names = [name for name, module in model.named_modules() if type(module) is torch.nn.Linear]
    if mode == "int8-qkv":
        names = [name for name in names if _QKV_NAME.search(name)]
    return names


def quantize_encoder(encoder: LoadedEncoder, mode: str) -> int:
    """Quantize ``encoder.model`` in place according to ``mode``; return the layers replaced.

    ``"none"`` returns 0 and changes nothing. The model stays in eval mode;
    ``encoder.weights_sha256`` keeps naming the float weights it was loaded from. Raises
    ``E107``/``E250`` (see :func:`check_quantize_mode`) and ``E252`` when the model has no
    Linear layer the mode could quantize.
    """
    check_quantize_mode(mode, device=encoder.device)
    if mode == "none":
        return 0
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    model = encoder.model
    names = quantizable_linear_names(model, mode)
    if not names:
        raise AliaClinValueError(ErrorCode.E252, mode=mode, model_type=encoder.model_type)
    spec = dict.fromkeys(names, per_channel_dynamic_qconfig)
    model.eval()
    with warnings.catch_warnings():
        # torch.ao.quantization deprecation notices (see the module docstring).
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao")
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantize_per_(tensor|channel).*deprecated.*")
        quantize_dynamic(model, qconfig_spec=spec, dtype=torch.qint8, inplace=True)
    logger.info("Quantized %d Linear layers of the %s encoder (%s)", len(names), encoder.model_type, mode)
    return len(names)


def quantized_layer_count(model: Any) -> int:
    """Number of dynamically quantized Linear modules in ``model``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

    return sum(isinstance(m, DynamicQuantizedLinear) for m in model.modules())
