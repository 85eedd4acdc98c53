// The strict unpickler: the opcode loop (this file) and the allow-listed globals (pickle_globals.cpp).
// Opcode semantics follow CPython's Lib/pickle.py (_Unpickler) and the table in
// ../shared/reference/checkpoints.md, section 1.3.
#include "engine/pickle.h"

#include <cstring>
#include <unordered_map>

#include "engine/pickle_internal.h"

namespace wsol {

using namespace pickle_detail;

namespace {

constexpr size_t kMaxStack = size_t(1) << 20;  // torch batches SETITEMS/APPENDS by 1000; this is ample
constexpr size_t kMaxLongBytes = 4096;         // LONG4 ints; checkpoints never hold more than 80-bit ones
constexpr size_t kMaxLine = 512;               // GLOBAL module/name and INT text lines
constexpr int kMaxDepth = 100;                 // nesting of the result (Python's own limit is ~1000)

// Opcode bytes, with CPython's names.
enum Op : uint8_t {
    MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
    BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
    STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
    BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h',
    INST = 'i', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q',
    LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
    BINBYTES = 'B', SHORT_BINBYTES = 'C',
    PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
    TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b,
    SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90,
    FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
    BYTEARRAY8 = 0x96,
};

class Unpickler {
public:
    Unpickler(std::string_view data, size_t pos, const std::string& source, const PersistentLoader& loader)
        : data_(data), pos_(pos), source_(source), loader_(loader) {}

    // Breaks every reference cycle the program may have built among containers, so that nothing
    // leaks whatever happened (see finish()).
    ~Unpickler() {
        for (PyValue& v : arena_) {
            if (!finished_ || !keep_.count(v.identity())) clear_container(v);
        }
    }

    PyValue run();
    size_t pos() const { return pos_; }

private:
    template <class... Args>
    [[noreturn]] void fail(const Args&... args) {
        positioned_ = true;
        WSOL_FAIL(source_, ": pickle byte ", op_pos_, ": ", args...);
    }

    // ---- reading the program ----
    std::string_view take(uint64_t n) {
        if (n > data_.size() - pos_) {
            fail("truncated: opcode needs ", n, " more bytes, only ", data_.size() - pos_, " left");
        }
        std::string_view out = data_.substr(pos_, size_t(n));
        pos_ += size_t(n);
        return out;
    }
    uint64_t read_le(int nbytes) {
        std::string_view b = take(uint64_t(nbytes));
        uint64_t v = 0;
        for (int i = nbytes - 1; i >= 0; --i) v = (v << 8) | uint8_t(b[size_t(i)]);
        return v;
    }
    std::string_view line() {
        const size_t end = data_.find('\n', pos_);
        if (end == std::string_view::npos || end - pos_ > kMaxLine) fail("truncated or overlong text line");
        std::string_view out = data_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return out;
    }

    // ---- the stack ----
    void push(PyValue v) {
        if (stack_.size() >= kMaxStack) fail("stack exceeds ", kMaxStack, " entries");
        stack_.push_back(std::move(v));
    }
    PyValue pop() {
        if (stack_.size() <= stack_floor()) fail("stack underflow");
        PyValue v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    PyValue& top() {
        if (stack_.size() <= stack_floor()) fail("stack underflow");
        return stack_.back();
    }
    // Values above the innermost mark are the only ones an opcode may pop (CPython keeps them on a
    // separate stack, so popping past a mark is an underflow there too).
    size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
    PyList pop_mark() {
        if (marks_.empty()) fail("no MARK to pop to");
        const size_t mark = marks_.back();
        marks_.pop_back();
        PyList items(std::make_move_iterator(stack_.begin() + std::ptrdiff_t(mark)),
                     std::make_move_iterator(stack_.end()));
        stack_.resize(mark);
        return items;
    }

    // ---- containers, tracked so that cycles can be broken ----
    PyValue track(PyValue v) {
        arena_.push_back(v);
        return v;
    }
    PyValue new_list(PyList items = {}) { return track(PyValue::list(std::move(items))); }
    PyValue new_tuple(PyList items = {}) { return track(PyValue::tuple(std::move(items))); }
    PyValue new_dict() { return track(PyValue::dict()); }
    static void clear_container(PyValue& v);
    PyValue& container_on_top(PyValue::Kind kind, const char* what);
    void set_items(PyDict& dict, PyList& pairs);
    void finish(const PyValue& result);

    void step(uint8_t op);
    void memo_put(uint64_t index) {
        if (memo_.size() >= kMaxStack * 4 && !memo_.count(index)) fail("memo exceeds ", kMaxStack * 4, " entries");
        memo_[index] = top();
    }
    void memo_get(uint64_t index) {
        auto it = memo_.find(index);
        if (it == memo_.end()) fail("memo index ", index, " was never stored");
        push(it->second);
    }

    std::string_view data_;
    size_t pos_;
    size_t op_pos_ = 0;
    const std::string& source_;
    const PersistentLoader& loader_;
    std::vector<PyValue> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, PyValue> memo_;
    std::vector<PyValue> arena_;
    std::unordered_map<const void*, uint8_t> keep_;  // containers reachable from the result
    bool stopped_ = false;
    bool finished_ = false;    // finish() accepted the result
    bool positioned_ = false;  // the error in flight already names the source and offset
    PyValue result_;
};

void Unpickler::clear_container(PyValue& v) {
    switch (v.kind()) {
        case PyValue::Kind::List:
        case PyValue::Kind::Tuple: v.mutable_sequence().clear(); break;
        case PyValue::Kind::Dict: v.mutable_dict() = PyDict(); break;
        case PyValue::Kind::Object: {
            PyObject& o = *v.as_object();
            o.args = PyValue();
            o.state = PyValue();
            break;
        }
        default: break;
    }
}

PyValue& Unpickler::container_on_top(PyValue::Kind kind, const char* what) {
    PyValue& target = top();
    if (!target.is(kind)) fail(what, " needs a ", kind == PyValue::Kind::Dict ? "dict" : "list", " below, found ",
                               target.type_name());
    return target;
}

void Unpickler::set_items(PyDict& dict, PyList& pairs) {
    if (pairs.size() % 2 != 0) fail("odd number of items (", pairs.size(), ") for key/value pairs");
    for (size_t i = 0; i < pairs.size(); i += 2) dict.set(std::move(pairs[i]), std::move(pairs[i + 1]));
}

PyValue Unpickler::run() {
    while (!stopped_) {
        op_pos_ = pos_;
        if (pos_ >= data_.size()) fail("truncated: the pickle ends without STOP");
        const uint8_t op = uint8_t(data_[pos_++]);
        try {
            step(op);
        } catch (const Error& e) {
            if (positioned_) throw;
            fail(e.what());  // from a global's handler or a dict key: add the position
        } catch (const std::bad_alloc&) {
            fail("out of memory");
        }
    }
    finish(result_);
    finished_ = true;
    return result_;
}

void Unpickler::step(uint8_t op) {
    using Kind = PyValue::Kind;
    switch (op) {
        case PROTO: {
            const uint64_t v = read_le(1);
            if (v > 5) fail("unsupported pickle protocol ", v);
            return;
        }
        case FRAME: {
            // A framing hint for buffered readers (protocol 4+); the frame's opcodes simply follow.
            const uint64_t n = read_le(8);
            if (n > data_.size() - pos_) fail("truncated: FRAME of ", n, " bytes, only ", data_.size() - pos_, " left");
            return;
        }
        case STOP: {
            result_ = pop();
            if (!stack_.empty() || !marks_.empty()) fail("STOP with ", stack_.size(), " values and ", marks_.size(),
                                                         " marks left on the stack");
            stopped_ = true;
            return;
        }
        case MARK:
            if (marks_.size() >= kMaxStack) fail("too many open MARKs");
            marks_.push_back(stack_.size());
            return;
        case POP: pop(); return;
        case POP_MARK: pop_mark(); return;
        case DUP: push(top()); return;

        // ---- scalars ----
        case NONE: push(PyValue()); return;
        case NEWTRUE: push(PyValue::boolean(true)); return;
        case NEWFALSE: push(PyValue::boolean(false)); return;
        case BININT: push(PyValue::integer(int32_t(uint32_t(read_le(4))))); return;
        case BININT1: push(PyValue::integer(int64_t(read_le(1)))); return;
        case BININT2: push(PyValue::integer(int64_t(read_le(2)))); return;
        case LONG1: push(decode_long(take(read_le(1)))); return;
        case LONG4: {
            const int64_t n = int32_t(uint32_t(read_le(4)));
            if (n < 0 || uint64_t(n) > kMaxLongBytes) fail("LONG4 length ", n, " is out of range");
            push(decode_long(take(uint64_t(n))));
            return;
        }
        case INT:
        case LONG: {
            // Text ints: Python 2 pickles 64-bit ints this way even in binary protocols; "I01"/"I00" are bools.
            std::string_view text = line();
            if (op == INT && (text == "01" || text == "00")) {
                push(PyValue::boolean(text == "01"));
                return;
            }
            if (op == LONG && !text.empty() && text.back() == 'L') text.remove_suffix(1);
            push(PyValue::integer(parse_int_text(text)));
            return;
        }
        case BINFLOAT: {
            const std::string_view b = take(8);
            uint64_t bits = 0;
            for (char c : b) bits = (bits << 8) | uint8_t(c);  // big-endian, unlike everything else
            double d;
            std::memcpy(&d, &bits, 8);
            push(PyValue::floating(d));
            return;
        }
        case BINUNICODE:
        case SHORT_BINUNICODE:
        case BINUNICODE8: {
            const uint64_t n = read_le(op == SHORT_BINUNICODE ? 1 : op == BINUNICODE ? 4 : 8);
            const std::string_view s = take(n);
            if (!valid_utf8(s)) fail("string is not valid UTF-8");
            push(PyValue::string(std::string(s)));
            return;
        }
        case BINSTRING:
        case SHORT_BINSTRING: {
            const int64_t n = op == SHORT_BINSTRING ? int64_t(read_le(1)) : int64_t(int32_t(uint32_t(read_le(4))));
            if (n < 0) fail("negative BINSTRING length");
            push(PyValue::string(decode_py2_string(take(uint64_t(n)))));
            return;
        }
        case BINBYTES:
        case SHORT_BINBYTES:
        case BINBYTES8:
        case BYTEARRAY8: {
            const uint64_t n = read_le(op == SHORT_BINBYTES ? 1 : op == BINBYTES ? 4 : 8);
            push(PyValue::bytes(std::string(take(n))));
            return;
        }

        // ---- containers ----
        case EMPTY_DICT: push(new_dict()); return;
        case EMPTY_LIST:
        case EMPTY_SET: push(new_list()); return;  // a set is kept as a list
        case EMPTY_TUPLE: push(new_tuple()); return;
        case DICT: {
            PyList pairs = pop_mark();
            PyValue d = new_dict();
            set_items(d.mutable_dict(), pairs);
            push(std::move(d));
            return;
        }
        case LIST: push(new_list(pop_mark())); return;
        case TUPLE:
        case FROZENSET: push(new_tuple(pop_mark())); return;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
            const size_t n = size_t(op - TUPLE1 + 1);
            if (stack_.size() < stack_floor() + n) fail("stack underflow");
            PyList items(std::make_move_iterator(stack_.end() - std::ptrdiff_t(n)), std::make_move_iterator(stack_.end()));
            stack_.resize(stack_.size() - n);
            push(new_tuple(std::move(items)));
            return;
        }
        case APPEND: {
            PyValue v = pop();
            container_on_top(Kind::List, "APPEND").mutable_sequence().push_back(std::move(v));
            return;
        }
        case APPENDS:
        case ADDITEMS: {
            PyList items = pop_mark();
            PyList& target = container_on_top(Kind::List, "APPENDS").mutable_sequence();
            for (PyValue& v : items) target.push_back(std::move(v));
            return;
        }
        case SETITEM: {
            PyValue value = pop();
            PyValue key = pop();
            container_on_top(Kind::Dict, "SETITEM").mutable_dict().set(std::move(key), std::move(value));
            return;
        }
        case SETITEMS: {
            PyList pairs = pop_mark();
            set_items(container_on_top(Kind::Dict, "SETITEMS").mutable_dict(), pairs);
            return;
        }

        // ---- memo ----
        case BINPUT: memo_put(read_le(1)); return;
        case LONG_BINPUT: memo_put(read_le(4)); return;
        case MEMOIZE: memo_put(memo_.size()); return;
        case BINGET: memo_get(read_le(1)); return;
        case LONG_BINGET: memo_get(read_le(4)); return;

        // ---- globals and the calls they allow ----
        case GLOBAL: {
            const std::string module(line());
            const std::string name(line());
            push(allowed_global(module, name));
            return;
        }
        case STACK_GLOBAL: {
            PyValue name = pop();
            PyValue module = pop();
            if (!module.is(Kind::String) || !name.is(Kind::String)) fail("STACK_GLOBAL needs two strings");
            push(allowed_global(module.as_string(), name.as_string()));
            return;
        }
        case REDUCE:
        case NEWOBJ: {
            PyValue args = pop();
            PyValue callable = pop();
            if (!args.is(Kind::Tuple)) fail(op == REDUCE ? "REDUCE" : "NEWOBJ", " arguments are a ", args.type_name(),
                                            ", not a tuple");
            const Tracker tracker = [&](PyValue v) { return track(std::move(v)); };
            push(op == REDUCE ? call_global(callable, args, tracker) : new_object(callable, args, tracker));
            return;
        }
        case BUILD: {
            PyValue state = pop();
            build_object(top(), std::move(state));
            return;
        }
        case BINPERSID: {
            PyValue pid = pop();
            if (!loader_) fail("persistent id ", pid.repr(80), " but no persistent loader for this pickle");
            PyValue loaded;
            try {
                loaded = loader_(pid);
            } catch (const Error&) {
                positioned_ = true;  // the container reader names the file and the storage
                throw;
            }
            push(std::move(loaded));
            return;
        }
        default: break;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", op);
    if (op == PERSID || op == INST || op == OBJ || op == EXT1 || op == EXT2 || op == EXT4 || op == GET ||
        op == PUT || op == FLOAT || op == STRING || op == UNICODE || op == NEWOBJ_EX) {
        fail("opcode ", hex, " ('", char(op), "') is valid pickle but not used by torch.save; refusing it");
    }
    fail("unknown opcode ", hex);
}

// After STOP: checks that the result is a finite tree or DAG of bounded depth (an iterative walk
// that finds back edges), and lets go of every container it does not reach.
void Unpickler::finish(const PyValue& result) {
    struct Frame {
        const PyValue* value;
        size_t next = 0;
    };
    auto child_count = [](const PyValue& v) -> size_t {
        switch (v.kind()) {
            case PyValue::Kind::List:
            case PyValue::Kind::Tuple: return v.as_sequence().size();
            case PyValue::Kind::Dict: return 2 * v.as_dict().size();
            case PyValue::Kind::Object: return 2;
            default: return 0;
        }
    };
    auto child = [](const PyValue& v, size_t i) -> const PyValue& {
        switch (v.kind()) {
            case PyValue::Kind::Dict: {
                const auto& item = v.as_dict().items[i / 2];
                return i % 2 == 0 ? item.first : item.second;
            }
            case PyValue::Kind::Object: return i == 0 ? v.as_object()->args : v.as_object()->state;
            default: return v.as_sequence()[i];
        }
    };
    constexpr uint8_t kOnPath = 1, kDone = 2;
    std::vector<Frame> path;
    auto enter = [&](const PyValue& v) {
        if (!v.is_sequence() && !v.is(PyValue::Kind::Dict) && !v.is(PyValue::Kind::Object)) return;
        const void* id = v.identity();
        auto [it, inserted] = keep_.emplace(id, kOnPath);
        if (!inserted) {
            if (it->second == kOnPath) fail("the result contains itself (a self-referencing container)");
            return;  // shared and already checked
        }
        if (path.size() >= size_t(kMaxDepth)) fail("containers nested deeper than ", kMaxDepth, " levels");
        path.push_back({&v});
    };
    enter(result);
    while (!path.empty()) {
        Frame& f = path.back();
        if (f.next < child_count(*f.value)) {
            const PyValue& c = child(*f.value, f.next++);
            enter(c);
        } else {
            keep_[f.value->identity()] = kDone;
            path.pop_back();
        }
    }
}

}  // namespace

PyValue unpickle(std::string_view data, size_t& pos, const std::string& source, const PersistentLoader& loader) {
    WSOL_CHECK(pos <= data.size(), source, ": pickle starts at ", pos, ", past the end (", data.size(), " bytes)");
    Unpickler u(data, pos, source, loader);
    PyValue v = u.run();
    pos = u.pos();
    return v;
}

PyValue unpickle(std::string_view data, const std::string& source, const PersistentLoader& loader) {
    size_t pos = 0;
    PyValue v = unpickle(data, pos, source, loader);
    WSOL_CHECK(pos == data.size(), source, ": ", data.size() - pos, " bytes after the pickle's STOP");
    return v;
}

}  // namespace wsol
