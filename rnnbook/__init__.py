"""rnnbook: recurrent networks and backpropagation through time, in NumPy.

The companion package of the rnnbook textbook. Layers follow PyTorch's conventions
(``(T, B, D)`` inputs, parameter names such as ``weight_hh_l0``), so that weights move to
``torch.nn`` unchanged.
"""

from rnnbook.activations import ACTIVATIONS, get_activation, relu, sigmoid
from rnnbook.functional import rnn_forward, rnn_param_shapes
from rnnbook.layers import RNN

__all__ = [
    "ACTIVATIONS",
    "RNN",
    "get_activation",
    "relu",
    "rnn_forward",
    "rnn_param_shapes",
    "sigmoid",
]

__version__ = "0.1.0"
