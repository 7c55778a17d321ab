"""FLOPs of a convolution layer, counted for the benchmarks (2 × multiply-adds of a forward
pass). Layers do not count their own work: this file knows both tiers' routes."""
from __future__ import annotations


def conv_flops(layer, x_shape, performed: bool | None = None) -> int:
    """2 × the multiply-adds of `layer`'s forward pass on input (N, C, H, W).

    As laid out (`performed=False`): the im2col product, an up-sampling convolution counted as
    the 3×3 convolution on the up-sampled image. As performed (`performed=True`, the default for
    a fast-tier layer): Winograd's F(m×m, 3×3) multiplies (m+2)² numbers per m×m tile and
    channel pair (its transforms not counted), and the up-sampling convolution at low resolution
    is one GEMM (N·(H+1)·(W+1), 4C)·(4C, 4O)."""
    from ..nn import UpsampleConv2d, conv_output_size
    from ..nn import fast
    from ..nn.fast.conv import route
    from ..nn.fast.winograd import tiles
    if performed is None:
        performed = isinstance(layer, (fast.Conv2d, fast.UpsampleConv2d))
    N, C, H, W = x_shape
    O, _, kh, kw = layer.W.shape
    if isinstance(layer, UpsampleConv2d):
        if performed:
            return 2 * N * (H + 1) * (W + 1) * 4 * C * 4 * O
        H, W = 2 * H, 2 * W
    elif performed:
        name, m = route(kh, kw, layer.stride, layer.padding, C, O, H, W)
        if name == "winograd":
            th, tw = tiles(H, W, m)
            return 2 * N * th * tw * (m + 2) ** 2 * C * O
    Ho = conv_output_size(H, kh, layer.stride, layer.padding)
    Wo = conv_output_size(W, kw, layer.stride, layer.padding)
    return 2 * N * Ho * Wo * O * C * kh * kw
