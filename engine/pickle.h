// A strict pickle interpreter for the subset of Python's pickle format that torch.save writes.
//
// Pickle is a small stack machine whose programs can call any Python function by name (GLOBAL +
// REDUCE): loading an untrusted pickle with Python's own unpickler runs arbitrary code. This one
// never executes anything. It runs the opcodes that checkpoints use (protocols 2 to 5: the table
// in ../shared/reference/checkpoints.md, section 1.3, plus the Python 2 string and int forms of
// old files) and turns the few allowed globals into data:
//
//   collections.OrderedDict                 -> a dict (both the Python 3 and the Python 2 form)
//   torch._utils._rebuild_tensor[_v2|_v3]   -> a PyTensor (storage, offset, size, stride)
//   torch._utils._rebuild_parameter[...]    -> its tensor
//   torch._tensor._rebuild_from_type_v2     -> the inner rebuild call, subclass ignored
//   torch.Size, torch.device, builtins.set/frozenset, _codecs.encode, numpy scalars
//                                           -> tuple, str, list, bytes, number
//   torch.<X>Storage, torch.<X>Tensor, torch.<dtype>, torch.Tensor, torch.nn.parameter.Parameter
//                                           -> names, usable only as arguments
//   argparse.Namespace, numpy.dtype         -> opaque objects recording their arguments and state
//
// Any other global (os.system, builtins.eval, a model class) is a wsol::Error naming it. Every
// read is bounds-checked, and so are memo indices, the stack, the marks, lengths and nesting; the
// result is checked to be a finite tree-or-DAG of depth <= 100 (no self-referencing containers).
// Errors name the source and the byte offset of the failing opcode. Fuzzed in tests/fuzz.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "engine/pyvalue.h"

namespace wsol {

// torch's persistent_load: maps the persistent id popped by BINPERSID (a tuple such as
// ('storage', torch.FloatStorage, '0', 'cpu', 6)) to the object it stands for.
using PersistentLoader = std::function<PyValue(const PyValue& pid)>;

// Runs one pickle that starts at data[pos] and returns its value; on return pos is just past the
// STOP opcode (pickles of the legacy format follow each other in one file). `source` names the
// data in errors ("model.pth: archive/data.pkl"). Without a loader, BINPERSID is an error.
PyValue unpickle(std::string_view data, size_t& pos, const std::string& source,
                 const PersistentLoader& persistent_load = {});
// The same for a buffer that holds exactly one pickle (trailing bytes are an error).
PyValue unpickle(std::string_view data, const std::string& source, const PersistentLoader& persistent_load = {});

// The dtype of a torch storage class given as a global ("torch.FloatStorage" -> float32;
// "torch.UntypedStorage" -> uint8 bytes). Throws naming `context` for unknown classes and for
// the ones wsol has no dtype for (int16, int8, complex, quantized).
DType torch_storage_dtype(const PyValue& storage_type, const std::string& context);
// The same for the tensor classes of the old tar format ("torch.FloatTensor" -> float32).
DType torch_tensor_type_dtype(const PyValue& tensor_type, const std::string& context);

}  // namespace wsol
