"""PyTorch reference implementations of the convc ops, written the way fairseq
writes them (grouped conv for LightweightConv, unfold for DynamicConv, cumsum
and gather for TaLK). Used to cross-check convc's C++ reference and, later,
to export example models. Layout is BTC throughout."""
