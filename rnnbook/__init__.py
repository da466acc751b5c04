"""rnnbook: recurrent networks and backpropagation through time, in NumPy.

The companion package of the rnnbook textbook. Layers follow PyTorch's conventions
(``(T, B, D)`` inputs, parameter names such as ``weight_hh_l0``), so that weights move to
``torch.nn`` unchanged.
"""

from rnnbook.activations import ACTIVATIONS, get_activation, relu, sigmoid
from rnnbook.bptt import (
    FullBPTT,
    RandomizedBPTT,
    TruncatedBPTT,
    Update,
    accumulate,
    full_bptt,
    randomized_bptt,
    truncated_bptt,
)
from rnnbook.checkpoint import (
    Checkpointed,
    checkpoint_backward,
    checkpoint_forward,
    sqrt_segment,
    stored_bytes,
)
from rnnbook.functional import (
    linear_backward,
    linear_forward,
    rnn_backward,
    rnn_forward,
    rnn_param_shapes,
)
from rnnbook.gradcheck import gradcheck, numerical_gradient, relative_error
from rnnbook.gru import gru_backward, gru_forward
from rnnbook.init import identity_, init_recurrent, orthogonal_, set_forget_bias
from rnnbook.layers import GRU, LSTM, RNN, Linear, Sequential
from rnnbook.linear_recurrent import LinearRecurrent
from rnnbook.losses import cross_entropy_loss, log_softmax, mse_loss, softmax
from rnnbook.lstm import lstm_backward, lstm_forward
from rnnbook.optim import SGD, Adam, clip_grad_norm, clip_grad_value, global_norm
from rnnbook.sampling import evaluate, forward_ids, sample, softmax_with_temperature
from rnnbook.scan import linear_recurrence, linear_recurrence_backward
from rnnbook.training import History, fit

__all__ = [
    "ACTIVATIONS",
    "GRU",
    "LSTM",
    "RNN",
    "SGD",
    "Adam",
    "Checkpointed",
    "FullBPTT",
    "History",
    "Linear",
    "LinearRecurrent",
    "RandomizedBPTT",
    "Sequential",
    "TruncatedBPTT",
    "Update",
    "accumulate",
    "checkpoint_backward",
    "checkpoint_forward",
    "clip_grad_norm",
    "clip_grad_value",
    "cross_entropy_loss",
    "evaluate",
    "fit",
    "forward_ids",
    "full_bptt",
    "get_activation",
    "global_norm",
    "gradcheck",
    "gru_backward",
    "gru_forward",
    "identity_",
    "init_recurrent",
    "linear_backward",
    "linear_forward",
    "linear_recurrence",
    "linear_recurrence_backward",
    "log_softmax",
    "lstm_backward",
    "lstm_forward",
    "mse_loss",
    "numerical_gradient",
    "orthogonal_",
    "randomized_bptt",
    "relative_error",
    "relu",
    "rnn_backward",
    "rnn_forward",
    "rnn_param_shapes",
    "sample",
    "set_forget_bias",
    "sigmoid",
    "softmax",
    "softmax_with_temperature",
    "sqrt_segment",
    "stored_bytes",
    "truncated_bptt",
]

__version__ = "0.1.0"
