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
// Python's int() of a decimal text, within 64 bits.
int64_t parse_int_text(std::string_view text);

}  // namespace wsol::pickle_detail
