"""ByteDMD: the data-movement cost of a computation, measured by tracing it.

Memory is one LRU stack of live values; every read of a value at depth d (1 = top) costs ceil(sqrt(d)).
Arithmetic and writes are free. A value leaves the stack right after its last read (liveness compaction);
returned values stay live to the end. docs/data_movement.md states the definition this module implements.

    cost = bytedmd(fn, args)                 # total cost of fn(*args), every scalar in args traced
    depths, result = trace(fn, args)         # the depth of every read, in order, and fn's plain result
    costs = cost_by_phase(fn, args)          # {phase: cost} for code that calls phase("...")

Two passes: running fn on traced scalars logs the instructions (which values each one read, what it made);
pricing then replays the log knowing each value's last read, on a Fenwick tree of the stack slots vacated so far.
"""
import functools
import math
import operator

_active = []      # the tracer of the trace in progress (a stack, so traces can nest)


# --------------------------------------------------------------------------------------------- pass 1: log
class _Log:
    def __init__(self):
        self.instructions = []        # (tuple of input ids in read order, result id or None, phase)
        self.n_values = 0
        self.phase = None

    def new_id(self):
        self.n_values += 1
        return self.n_values - 1

    def record(self, inputs, value, produce=True):
        result = Traced(value, self) if produce else None
        self.instructions.append((tuple(t.id for t in inputs), None if result is None else result.id, self.phase))
        return result


class Traced:
    """A scalar whose reads are logged. Arithmetic and comparisons with traced operands log one instruction
    and return a new traced value; bool(), float() and int() log one read and return a plain value."""
    __slots__ = ("value", "id", "log")
    __hash__ = None

    def __init__(self, value, log):
        self.value, self.log, self.id = value, log, log.new_id()

    def __repr__(self):
        return f"Traced({self.value!r})"

    def _escape(self, convert):
        self.log.record([self], None, produce=False)
        return convert(self.value)

    def __bool__(self):
        return self._escape(bool)

    def __float__(self):
        return self._escape(float)

    def __int__(self):
        return self._escape(int)

    def __index__(self):
        return self._escape(operator.index)


def _binary(fn, reflected=False):
    def method(self, other):
        if reflected:
            left, right = other, self
        else:
            left, right = self, other
        traced = [v for v in (left, right) if isinstance(v, Traced)]
        return self.log.record(traced, fn(_plain(left), _plain(right)))
    return method


def _unary(fn):
    def method(self):
        return self.log.record([self], fn(self.value))
    return method


for _name, _fn in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("pow", operator.pow)):
    setattr(Traced, f"__{_name}__", _binary(_fn))
    setattr(Traced, f"__r{_name}__", _binary(_fn, reflected=True))
for _name, _fn in (("lt", operator.lt), ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge),
                   ("eq", operator.eq), ("ne", operator.ne)):
    setattr(Traced, f"__{_name}__", _binary(_fn))
for _name, _fn in (("neg", operator.neg), ("pos", operator.pos), ("abs", abs)):
    setattr(Traced, f"__{_name}__", _unary(_fn))


def _plain(v):
    return v.value if isinstance(v, Traced) else v


def op(fn):
    """Make fn one traced instruction: it reads each traced argument once and yields one traced value
    (e.g. a sigmoid priced as a single operation). On plain numbers it is just fn."""
    def traced_fn(*args):
        traced = [a for a in args if isinstance(a, Traced)]
        value = fn(*(_plain(a) for a in args))
        return traced[0].log.record(traced, value) if traced else value
    traced_fn.__name__ = getattr(fn, "__name__", "op")
    return traced_fn


def phase(name):
    """Attribute the reads that follow to `name` (for cost_by_phase); a no-op outside a trace."""
    if _active:
        _active[-1].phase = name


def _wrap(obj, log, order):
    """Traced copy of a nested list/tuple of numbers; `order` collects the ids in row-major order."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(_wrap(v, log, order) for v in obj)
    t = Traced(obj, log)
    order.append(t.id)
    return t


def _collect(obj, ids):
    """Ids of the traced values inside a (nested) result."""
    if isinstance(obj, Traced):
        ids.add(obj.id)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, ids)
    elif isinstance(obj, dict):
        for v in obj.values():
            _collect(v, ids)
    return ids


def _unwrap(obj):
    if isinstance(obj, Traced):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(v) for v in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _run(fn, args):
    log = _Log()
    blocks = []
    traced_args = []
    for arg in args:
        order = []
        traced_args.append(_wrap(arg, log, order))
        blocks.append(order)
    _active.append(log)
    try:
        result = fn(*traced_args)
    finally:
        _active.pop()
    # Initial stack, bottom to top: the last argument's elements first, so the first argument ends nearest
    # the top; within an argument, row-major, so its last element is on top.
    initial = [i for order in reversed(blocks) for i in order]
    return log, initial, result


# ------------------------------------------------------------------------------------------- pass 2: price
class _Fenwick:
    def __init__(self, size):
        self.tree = [0] * (size + 1)

    def add(self, i, delta):
        tree, size = self.tree, len(self.tree)
        i += 1
        while i < size:
            tree[i] += delta
            i += i & -i

    def prefix(self, i):
        """Sum over slots [0, i)."""
        tree, total = self.tree, 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total


def _price(log, initial, returned):
    """Depth of every read, in order, with the phase of its instruction: [(depth, phase)]."""
    last_read = {}
    for index, (inputs, _, _) in enumerate(log.instructions):
        for v in inputs:
            last_read[v] = index
    live_forever = set(returned)

    def stays(v, index):
        return v in live_forever or last_read.get(v, -1) > index

    # The stack as slots in push order: a push takes the next slot, on top, so the slots below a value's are
    # exactly those pushed before it, and its depth (itself and the live values above it) is
    # n_live - slot + (slots below it vacated so far). The tree counts vacated slots: a push touches nothing.
    n_slots = len(initial) + sum(len(i) + 1 for i, _, _ in log.instructions) + 1
    vacated, slot, n_live = _Fenwick(n_slots), {}, 0
    vacate, vacated_below = vacated.add, vacated.prefix
    for v in initial:
        if stays(v, -1):            # an argument that is never read takes no space
            slot[v] = n_live
            n_live += 1
    clock = n_live
    reads = []
    for index, (inputs, result, name) in enumerate(log.instructions):
        reads.extend((n_live - slot[v] + vacated_below(slot[v]), name) for v in inputs)   # priced before moves
        for v in dict.fromkeys(inputs):                                         # distinct, in read order
            vacate(slot.pop(v), 1)
            if stays(v, index):                                                 # moved to the top
                slot[v] = clock
                clock += 1
            else:
                n_live -= 1
        if result is not None and stays(result, index):
            slot[result] = clock
            clock += 1
            n_live += 1
    return reads


# ------------------------------------------------------------------------------------------------ the API
def _ceil_sqrt_sum(m):
    """sum of ceil(sqrt(i)) for i = 1..m, in closed form: ceil(sqrt(i)) = k for the 2k - 1 values of i in
    ((k-1)^2, k^2], so whole blocks up to K - 1 = ceil(sqrt(m)) - 1 add sum k(2k - 1), and the last is partial."""
    if m <= 0:
        return 0
    K = math.isqrt(m - 1) + 1
    whole = (K - 1) * K * (2 * K - 1) // 3 - (K - 1) * K // 2
    return whole + K * (m - (K - 1) ** 2)


@functools.lru_cache(maxsize=1 << 16)        # a trace reads at few distinct depths, many times each
def read_cost(depth, bytes_per_element=1):
    """Cost of reading an element at `depth`: the sum of ceil(sqrt(i)) over its bytes' positions."""
    first = (depth - 1) * bytes_per_element + 1
    return _ceil_sqrt_sum(first + bytes_per_element - 1) - _ceil_sqrt_sum(first - 1)


def trace(fn, args):
    """Run fn(*args) with every scalar in args traced. Returns (depths of the reads in order, fn's result
    with traced values turned back into plain numbers)."""
    log, initial, result = _run(fn, args)
    reads = _price(log, initial, _collect(result, set()))
    return [d for d, _ in reads], _unwrap(result)


def bytedmd(fn, args, bytes_per_element=1):
    """Total ByteDMD cost of fn(*args)."""
    depths, _ = trace(fn, args)
    return sum(read_cost(d, bytes_per_element) for d in depths)


def cost_by_phase(fn, args, bytes_per_element=1):
    """Cost of fn(*args) split by the phase() markers it calls, in one trace. Returns ({phase: cost}, result);
    reads before the first marker count under None."""
    log, initial, result = _run(fn, args)
    costs = {}
    for depth, name in _price(log, initial, _collect(result, set())):
        costs[name] = costs.get(name, 0) + read_cost(depth, bytes_per_element)
    return costs, _unwrap(result)


def instruction_lower_bound(fn, args, bytes_per_element=1):
    """A lower bound on the cost of any schedule of fn's instructions: an instruction's distinct inputs sit
    at distinct depths, so one reading m distinct values (value r read c_r times, c_1 >= c_2 >= ...) costs at
    least sum_r c_r * read_cost(r), however the instructions are ordered. Returns (bound, instruction count).
    It ignores how far apart a value's uses are, so it is loose; it holds for every order of the same
    arithmetic (same instructions, any association the trace records)."""
    log, _, _ = _run(fn, args)
    bound = 0
    for inputs, _, _ in log.instructions:
        counts = sorted((inputs.count(v) for v in dict.fromkeys(inputs)), reverse=True)
        bound += sum(c * read_cost(r, bytes_per_element) for r, c in enumerate(counts, start=1))
    return bound, len(log.instructions)
