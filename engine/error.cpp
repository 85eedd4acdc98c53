#include "engine/error.h"

namespace wsol::detail {

void throw_error(const std::string& message) { throw Error(message); }

}  // namespace wsol::detail
