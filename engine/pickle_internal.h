// Between the opcode loop (pickle.cpp) and the allow-listed globals (pickle_globals.cpp); not a
// public header. The functions here throw wsol::Error with a plain message; the opcode loop adds
// the source name and byte offset.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "engine/pyvalue.h"

namespace wsol::pickle_detail {

// Registers a new container with the unpickler (so that reference cycles can be broken) and returns it.
using Tracker = std::function<PyValue(PyValue)>;

// GLOBAL module name: the allow-listed global as a value, or an error naming it.
PyValue allowed_global(const std::string& module, const std::string& name);
// REDUCE: callable(*args) for the allow-listed callables, as data.
PyValue call_global(const PyValue& callable, const PyValue& args, const Tracker& track);
// NEWOBJ: cls.__new__(cls, *args) for the allow-listed classes.
PyValue new_object(const PyValue& cls, const PyValue& args, const Tracker& track);
// BUILD: applies `state` to `target` (an OrderedDict's _metadata, a Namespace's attributes).
void build_object(PyValue& target, PyValue state);
// Opcode payloads (pickle_scalars.cpp):
// True when `s` is UTF-8 as Python's 'surrogatepass' decoder accepts it (BINUNICODE strings).
bool valid_utf8(std::string_view s);
// A Python 2 str (BINSTRING): UTF-8 when it is valid UTF-8 (torch.load decodes it so), else latin-1.
std::string decode_py2_string(std::string_view raw);
// LONG1/LONG4: little-endian two's complement of any length; an int, or a BigInt past 64 bits.
PyValue decode_long(std::string_view bytes);
// Python's int() of a decimal text (INT, LONG), within 64 bits.
int64_t parse_int_text(std::string_view text);

}  // namespace wsol::pickle_detail
