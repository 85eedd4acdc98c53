// Running a built app as a user would, for the app tests: the command's exit status and its
// stdout and stderr together.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace wsol::testing {

struct CommandResult {
    int status = -1;  // the exit status; -1 when the command could not run or was killed
    std::string out;  // stdout and stderr together
};

// Runs `<WSOL_BIN_DIR>/<app> <args>` through the shell.
inline CommandResult run_app(const std::string& app, const std::string& args) {
    const std::string command = std::string(WSOL_BIN_DIR) + "/" + app + " " + args + " 2>&1";
    CommandResult r;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
    const int raw = pclose(pipe);
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return r;
}

}  // namespace wsol::testing
