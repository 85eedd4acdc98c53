// The one error type of the project, and the check macro that raises it.
//
// Every library function reports bad input by throwing wsol::Error with a message that names the
// operation and the offending values (shapes, dtypes, file and line). Apps catch it, print the one
// line and exit non-zero. Messages are built by streaming the arguments, so any type with an
// operator<< can be named:
//
//   WSOL_CHECK(a.size(-1) == b.size(-2), "matmul: ", shape_str(a.shape()), " @ ",
//              shape_str(b.shape()), ": inner dimensions ", a.size(-1), " and ", b.size(-2), " differ");
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace wsol {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Args>
std::string str_cat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

[[noreturn]] void throw_error(const std::string& message);

}  // namespace detail
}  // namespace wsol

// Throws wsol::Error with the streamed message when `cond` is false.
#define WSOL_CHECK(cond, ...)                                                     \
    do {                                                                          \
        if (!(cond)) [[unlikely]] {                                               \
            ::wsol::detail::throw_error(::wsol::detail::str_cat(__VA_ARGS__));    \
        }                                                                         \
    } while (0)

// Unconditional failure with a streamed message.
#define WSOL_FAIL(...) ::wsol::detail::throw_error(::wsol::detail::str_cat(__VA_ARGS__))
