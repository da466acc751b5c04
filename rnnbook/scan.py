"""The linear recurrence ``a_t = b_t + c_t ⊙ a_{t-1}`` as a parallel prefix scan, and BPTT
through it as a reverse scan.

With ``c_t`` independent of ``a_{t-1}``, one step is the affine map ``a -> c_t a + b_t``, and
two steps compose into one of the same kind:

    (c2, b2) ∘ (c1, b1) = (c2 c1, c2 b1 + b2)        (step 2 after step 1)

The operator is associative, so all ``T`` states are prefixes of one scan and can be
computed in O(log T) dependent rounds (Blelloch, 1990; Martin & Cundy, 2018). Here ``c`` is
diagonal (elementwise), the case of linear recurrent networks and state-space models.

Methods (all exact up to rounding; they differ in work, depth and speed):

* ``"loop"``: the sequential recurrence, one NumPy operation on ``(B, H)`` per step and term;
* ``"hillis_steele"``: ceil(log2 T) passes over all steps, O(T log T) work (Hillis &
  Steele, 1986);
* ``"blelloch"``: an up-sweep and a down-sweep over a tree (padded to a power of two),
  O(T) work and about 2 log2 T rounds;
* ``"blocked"``: the steps cut into blocks of length L = sqrt(2T/5) (:func:`default_block`;
  the last block may be shorter); a loop within the blocks runs across all blocks at once,
  a loop over the blocks passes the carries, and a second loop within the blocks writes the
  states. About 5T work in 2L + T/L (about 2.85 sqrt(T)) rounds.

Numerics: the loop never multiplies two ``c``'s together; the scans do, over spans of up to
``T`` steps (one block for ``"blocked"``). With ``|c_t| <= 1`` a product can only shrink,
and one that underflows drops a term below the smallest float times the largest state, so
every method agrees with the loop to rounding (the tests check it at T = 100 000 with
``c`` close to 1 and with products that underflow). With ``|c_t| > 1`` the states grow
geometrically anyway; a product can then overflow before the loop's states do.

:data:`DEFAULT_METHOD` was chosen from ``benchmarks/results/scan.json`` (CPU time of one
call, the fastest of 5 rounds, on 2 cores with a load average of at most 1). With NumPy a
step of the loop is two calls on only ``B * H`` numbers, mostly call overhead; Hillis-Steele's
and Blelloch's extra work and memory traffic grow with T log T and with the padding to a
power of two. The blocked scan issues about 2 sqrt(10 T) calls, 1% of the loop's at
T = 100 000, for 2.5 times its work. At T = 100 000 it took 0.28 of the loop's time with 64
lanes in float32, 0.45 in float64, 0.77 with 256 lanes in float32, and 1.07 with 256 lanes
in float64, where the loop's calls carry enough numbers that memory traffic, of which the
blocked scan has more, decides (two runs on a busier machine gave 0.97 and 1.09 there). It
was the fastest scan at T = 100 000 in every configuration, and from T = 1000 to 100 000
never slower than the loop except in that last one, from T = 10 000 on. Its win is over
the interpreter's per-call overhead, not over the sequential algorithm: a compiled loop does
the least work and would beat every scan on a CPU; the scans' O(log T) or O(sqrt T) depth
pays on parallel hardware.
"""

from __future__ import annotations

import math

import numpy as np

from rnnbook._checks import SUPPORTED_DTYPES, check_array, check_choice, check_positive_int

#: The algorithms :func:`~rnnbook.linear_recurrence` offers, in the order the book presents them.
METHODS = ("loop", "hillis_steele", "blelloch", "blocked")

#: The method used when none is named; see ``benchmarks/scan.py`` for the measurements.
DEFAULT_METHOD = "blocked"


# The algorithms. Each takes c and b of shape (T, ...) and a0 of shape (...) or None, and
# returns a new array a with a[t] = b[t] + c[t] * a[t-1] (a[-1] meaning a0, or zero). They
# use only indexing, copies and the arithmetic operators, so that a test can run them on
# arrays of numbers that count their own operations.


def _loop(c: np.ndarray, b: np.ndarray, a0: np.ndarray | None) -> np.ndarray:
    """The recurrence itself, one step after the other (each step vectorised over B, H)."""
    a = np.empty_like(b)
    if a0 is None:
        a[0] = b[0]
    else:
        np.multiply(c[0], a0, out=a[0])
        a[0] += b[0]
    # Iterating hands out each step's view once; indexing c[t], b[t], a[t - 1] and a[t]
    # (twice) in the body would build five views per step, and at B * H = 256 that Python
    # work took ~40% more time than the arithmetic. Written into a[t] directly: no
    # temporary array per step.
    for c_t, b_t, previous, current in zip(c[1:], b[1:], a[:-1], a[1:], strict=True):
        np.multiply(c_t, previous, out=current)
        current += b_t
    return a


def _hillis_steele(c: np.ndarray, b: np.ndarray, a0: np.ndarray | None) -> np.ndarray:
    """Hillis and Steele's scan: in the pass with offset d, element t absorbs element t - d.

    After the pass with offset d, element t holds the composition of steps
    max(0, t - 2d + 1) .. t: its ``A`` is the state at t started from zero at that step,
    and its ``C`` the product of those steps' c. Elements t < 2d then hold full prefixes.
    """
    A = b.copy()
    if a0 is not None:
        A[0] += c[0] * a0  # the first step from a0: element 0 is a full prefix from the start
    C = c.copy()
    # One scratch array for every product, so that no pass allocates (fresh memory costs
    # page faults); it also receives the new C's, and then trades places with C.
    spare = np.empty_like(A)
    steps, d = len(b), 1
    while d < steps:
        # (C_t, A_t) ∘ (C_{t-d}, A_{t-d}): the products are formed from this pass's values
        # before the addition writes any of them.
        np.multiply(C[d:], A[:-d], out=spare[d:])
        A[d:] += spare[d:]
        if 2 * d < steps:
            # Only elements t >= 2d combine with an earlier one in later passes, and only
            # their C is read again, so the rest of the swapped-in array may hold anything.
            np.multiply(C[2 * d:], C[d:-d], out=spare[2 * d:])
            C, spare = spare, C
        d *= 2
    return A


def _blelloch(c: np.ndarray, b: np.ndarray, a0: np.ndarray | None) -> np.ndarray:
    """Blelloch's work-efficient scan: an up-sweep, then a down-sweep of exclusive prefixes.

    The steps are padded to a power of two with the identity (c = 1, b = 0). The up-sweep
    leaves at position p the composition of the 2^k steps ending at p, where 2^k is the
    largest power of two dividing p + 1. The down-sweep starts from the state before the
    first step (a0) at the root and hands each node's incoming state to its left half and,
    advanced through the left half, to its right half. At the end position t holds
    a_{t-1}, and one last step gives a_t.
    """
    steps = len(b)
    size = 1 << (steps - 1).bit_length()  # the smallest power of two >= steps
    C = np.empty_like(b, shape=(size, *b.shape[1:]))
    A = np.empty_like(C)
    C[:steps], C[steps:] = c, 1
    A[:steps], A[steps:] = b, 0
    spare = np.empty_like(C[: size // 2])  # scratch for the products: no pass allocates
    d = 1
    while d < size:  # up-sweep
        right, left = slice(2 * d - 1, size, 2 * d), slice(d - 1, size, 2 * d)
        product = spare[: size // (2 * d)]
        np.multiply(C[right], A[left], out=product)
        A[right] += product
        if 2 * d < size:  # the root's product is never read
            C[right] *= C[left]
        d *= 2
    # Down-sweep: only states move down, so only A changes; C keeps the up-sweep's segment
    # products, which is what each left half applies to the state it receives.
    A[size - 1] = 0 if a0 is None else a0
    d = size // 2
    while d >= 1:
        right, left = slice(2 * d - 1, size, 2 * d), slice(d - 1, size, 2 * d)
        incoming = spare[: size // (2 * d)]
        incoming[...] = A[right]                          # the state before this node
        np.multiply(C[left], incoming, out=A[right])      # ... advanced through its left half
        A[right] += A[left]
        A[left] = incoming
        d //= 2
    a = c * A[:steps]  # the last step: a_t = c_t a_{t-1} + b_t
    a += b
    return a


def balanced_block(steps: int, length: int) -> int:
    """The shortest block length that needs no more blocks than ``length`` does.

    ``length`` cuts ``steps`` = T steps into ceil(T / length) blocks; the same number of
    blocks also fits blocks of ceil(T / blocks) steps, which is never longer and leaves the
    last block at most ``blocks - 1`` steps short (``length`` itself could leave it almost
    empty: the third phase would then run ``length`` rounds for one short block's worth of
    extra steps).
    """
    length = min(length, steps)
    blocks = -(-steps // length)
    return -(-steps // blocks)


def default_block(steps: int) -> int:
    """The blocked scan's block length when none is given: sqrt(2T / 5), rounded, balanced.

    That length minimises the number of NumPy calls, 3(L - 1) + 2(T/L - 1) + 2L. Measured
    against ceil(sqrt(T)) (``benchmarks/scan.py``), it was faster at T <= 3000, where the
    calls' overhead dominates, and equal within the noise from T = 10 000 on, where the
    memory traffic of the ~5T work does.
    """
    return balanced_block(steps, max(1, round(math.sqrt(0.4 * steps))))


def _blocked(
    c: np.ndarray, b: np.ndarray, a0: np.ndarray | None, block: int | None = None
) -> np.ndarray:
    """The blocked scan: a sequential loop of length L ~ sqrt(T), run on all blocks at once.

    Block k holds steps kL .. kL + L - 1; the last block may be shorter. Step j of every
    block is the strided slice ``[j::L]``, one array operation for all blocks.

    1. Within each block but the last, from a zero state: the block's end state and the
       product of its c's (a loop over the block length, every block in the same operation).
    2. Over the blocks: the state entering each block (a loop over the number of blocks,
       on arrays of one step's size).
    3. Within each block again, from the state entering it: the states themselves (the last
       block drops out of the slices once its steps run out).

    The products are formed over one block at most.
    """
    steps = len(b)
    length = default_block(steps) if block is None else min(block, steps)
    blocks = -(-steps // length)
    a = np.empty_like(b)
    entering = np.empty_like(b, shape=(blocks, *b.shape[1:]))
    entering[0] = 0 if a0 is None else a0
    if blocks > 1:
        # 1. end state (from zero) and product of every block but the last, whose end
        #    state nothing reads
        whole = (blocks - 1) * length
        end = b[0:whole:length].copy()
        product = c[0:whole:length].copy()
        for j in range(1, length):
            c_j = c[j:whole:length]
            end *= c_j
            end += b[j:whole:length]
            product *= c_j
        # 2. the state entering each block
        for p, e, previous, current in zip(product, end, entering[:-1], entering[1:],
                                               strict=True):
            np.multiply(p, previous, out=current)
            current += e
    # 3. the states, block by block in parallel, each from its entering state
    np.multiply(c[0::length], entering, out=a[0::length])
    a[0::length] += b[0::length]
    for j in range(1, length):
        current = a[j::length]
        np.multiply(c[j::length], a[j - 1::length][: len(current)], out=current)
        current += b[j::length]
    return a


_ALGORITHMS = {
    "loop": _loop,
    "hillis_steele": _hillis_steele,
    "blelloch": _blelloch,
    "blocked": _blocked,
}


def _check_inputs(c, b, a0, method, block, names=("c", "b", "a0")):
    if not isinstance(b, np.ndarray):
        raise TypeError(f"{names[1]}: expected a numpy.ndarray, got {type(b).__name__}")
    if b.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"{names[1]}: expected float32 or float64, got {b.dtype}")
    dtype = b.dtype
    if b.ndim != 3:
        raise ValueError(f"{names[1]}: expected a 3-d array of shape (T, B, H), "
                         f"got {b.ndim}-d shape {b.shape}")
    if b.shape[0] < 1:
        raise ValueError(f"{names[1]}: expected at least one time step, got shape {b.shape}")
    check_array(names[1], b, (None, None, None), dtype, axes="(T, B, H)")
    check_array(names[0], c, b.shape, dtype, axes="(T, B, H)")
    if a0 is not None:
        check_array(names[2], a0, b.shape[1:], dtype, axes="(B, H)")
    check_choice("method", method, METHODS)
    if block is not None:
        check_positive_int("block", block)
        if method != "blocked":
            raise ValueError(f"block: only the 'blocked' method takes a block length, "
                             f"got block={block} with method={method!r}")


def linear_recurrence(
    c: np.ndarray,
    b: np.ndarray,
    a0: np.ndarray | None = None,
    *,
    method: str = DEFAULT_METHOD,
    block: int | None = None,
    reverse: bool = False,
) -> np.ndarray:
    """All states of ``a_t = b_t + c_t ⊙ a_{t-1}``, ``t = 1..T``, from ``a_0 = a0``.

    ``c``, ``b``: ``(T, B, H)`` float32 or float64 (``c`` acts elementwise: a diagonal
    transition); ``a0``: ``(B, H)`` or None for zeros. Returns ``a`` ``(T, B, H)`` with
    ``a[t - 1]`` = ``a_t``. ``method`` is one of :data:`~rnnbook.scan.METHODS`; ``block``
    sets the block length of the ``"blocked"`` method (default
    :func:`~rnnbook.scan.default_block`, sqrt(2T/5)). With ``reverse=True`` the recurrence
    runs backwards in time, ``a_t = b_t + c_t ⊙ a_{t+1}`` from ``a_{T+1} = a0``: the form
    BPTT takes.

    The recurrence is eq. :eq:`eq-recurrence` of :doc:`/book/d_gradients/recurrence` (with
    a start ``a_0``); the scans combine steps by the composition rule of
    eq. :eq:`eq-compose` of :doc:`/book/d_gradients/parallel_scan`.

    >>> c = np.full((4, 1, 1), 0.5); b = np.ones((4, 1, 1))
    >>> linear_recurrence(c, b).ravel().tolist()
    [1.0, 1.5, 1.75, 1.875]
    """
    _check_inputs(c, b, a0, method, block)
    if reverse:  # the same algorithms on the time-reversed views
        return linear_recurrence(c[::-1], b[::-1], a0, method=method, block=block)[::-1]
    with np.errstate(under="ignore"):  # products of many c's may underflow: harmless, above
        if method == "blocked":
            return _blocked(c, b, a0, block)
        return _ALGORITHMS[method](c, b, a0)


def linear_recurrence_backward(
    c: np.ndarray,
    a: np.ndarray,
    d_a: np.ndarray,
    a0: np.ndarray | None = None,
    *,
    method: str = DEFAULT_METHOD,
    block: int | None = None,
) -> dict[str, np.ndarray]:
    """BPTT through :func:`linear_recurrence`: one reverse scan and two products.

    ``c`` ``(T, B, H)`` and ``a0`` (or None) as given to the forward pass, ``a`` the states
    it returned, and ``d_a`` ``(T, B, H)`` the partial derivatives ``∂L/∂a_t`` of the loss
    (what reaches each state directly, not through later states). The total derivatives
    ``g_t = dL/da_t`` obey a linear recurrence run backwards in time,

        g_T = ∂L/∂a_T,    g_t = ∂L/∂a_t + c_{t+1} ⊙ g_{t+1},

    after which ``dL/db_t = g_t``, ``dL/dc_t = g_t ⊙ a_{t-1}`` and ``dL/da_0 = c_1 ⊙ g_1``.
    Returns ``{"c": ..., "b": ..., "a0": ...}`` (``"a0"`` ``(B, H)``, also when ``a0`` is
    None: the gradient at the zero state); ``"c"`` and ``"b"`` are ``(T, B, H)``. This is
    eq. :eq:`eq-scan-backward` of :doc:`/book/d_gradients/parallel_scan` with a diagonal
    ``c_t``.
    """
    _check_inputs(c, a, a0, method, block, names=("c", "a", "a0"))
    check_array("d_a", d_a, a.shape, a.dtype, axes="(T, B, H)")
    # The coefficient that multiplies g_{t+1} in the equation for g_t is c_{t+1}; the last
    # step has none (g_T has no later state), and the reverse scan never reads it.
    c_next = np.empty_like(c)
    c_next[:-1] = c[1:]
    c_next[-1] = 0
    g = linear_recurrence(c_next, d_a, method=method, block=block, reverse=True)
    d_c = np.empty_like(c)
    np.multiply(g[1:], a[:-1], out=d_c[1:])
    if a0 is None:
        d_c[0] = 0
    else:
        np.multiply(g[0], a0, out=d_c[0])
    return {"c": d_c, "b": g, "a0": c[0] * g[0]}


def scan_cost(steps: int, method: str, block: int | None = None) -> dict[str, int]:
    """What :func:`~rnnbook.linear_recurrence` (``a0=None``) does per lane, for ``steps`` = T steps.

    Returns ``work``, the multiplications and additions on one lane (one ``(b, h)``
    position); ``depth``, the dependent steps: rounds of multiply-adds that must follow one
    another, each round updating every element it touches at once (a parallel machine's
    time); and ``calls``, the NumPy arithmetic operations the implementation issues (a
    CPU's sequential part: each call is one pass over its arrays). The loop has
    ``work = 2(T - 1)`` and ``depth = T - 1``. The tests count work and calls on the running
    code, and check that its longest chain of operations is between ``depth`` and
    ``2 depth`` long (a multiply-add is one or two dependent operations). Returns a dict
    ``{"work", "depth", "calls"}`` of ints, compared across methods in
    :doc:`/book/d_gradients/parallel_scan`.
    """
    steps = check_positive_int("steps", steps)
    check_choice("method", method, METHODS)
    if method == "loop":
        return {"work": 2 * (steps - 1), "depth": steps - 1, "calls": 2 * (steps - 1)}
    if method == "hillis_steele":
        work = calls = passes = 0
        d = 1
        while d < steps:
            work, calls, passes = work + 2 * (steps - d), calls + 2, passes + 1
            if 2 * d < steps:
                work, calls = work + (steps - 2 * d), calls + 1
            d *= 2
        return {"work": work, "depth": passes, "calls": calls}
    if method == "blelloch":
        size = 1 << (steps - 1).bit_length()
        levels = size.bit_length() - 1
        # up-sweep: size - 1 combines, all but the root's with the product of the c's;
        # down-sweep: size - 1 state updates; then the last step on every element.
        up = 3 * (size - 1) - (1 if size > 1 else 0)
        calls = 2 * levels + max(levels - 1, 0) + 2 * levels + 2
        return {"work": up + 2 * (size - 1) + 2 * steps, "depth": 2 * levels + 1,
                "calls": calls}
    length = default_block(steps) if block is None else min(check_positive_int("block", block),
                                                             steps)
    blocks = -(-steps // length)
    # phases 1 and 2 run only when there is a second block; phase 3 covers every step
    before = blocks - 1  # the blocks whose end state and product phase 1 computes
    work = (3 * (length - 1) * before + 2 * before if before else 0) + 2 * steps
    depth = ((length - 1) + before if before else 0) + length
    calls = (3 * (length - 1) + 2 * before if before else 0) + 2 * length
    return {"work": work, "depth": depth, "calls": calls}
