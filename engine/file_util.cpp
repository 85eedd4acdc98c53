#include "engine/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "engine/error.h"

namespace wsol {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    WSOL_CHECK(in.good(), path, ": cannot open for reading (", std::strerror(errno), ")");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    WSOL_CHECK(size >= 0, path, ": cannot determine the file size");
    in.seekg(0, std::ios::beg);
    std::string bytes(size_t(size), '\0');
    if (size > 0) in.read(bytes.data(), size);
    WSOL_CHECK(in.good() || in.eof(), path, ": read error");
    WSOL_CHECK(in.gcount() == size, path, ": read ", in.gcount(), " of ", size, " bytes");
    return bytes;
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    static std::atomic<unsigned> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    WSOL_CHECK(fd >= 0, path, ": cannot create ", tmp, " (", std::strerror(errno), ")");
    size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            WSOL_FAIL(path, ": write failed after ", written, " bytes (", std::strerror(err), ")");
        }
        written += size_t(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        WSOL_FAIL(path, ": flushing to disk failed (", std::strerror(err), ")");
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        WSOL_FAIL(path, ": cannot rename the temporary file into place (", std::strerror(err), ")");
    }
    // Make the rename itself durable.
    const std::string::size_type slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace wsol
