// futura/mpi/detail/wire.hpp: what travels between the root and its workers.
//
// Every message is a sequence of frames on the executor's own communicator (a duplicate of
// the user's, so no tag of ours meets a message of theirs):
//
//   call_tag  (root -> worker), one frame per call, several calls in one message when the
//             worker has room for several:
//     u64 id | u8 kind | u64 signature | u16 name length | name | u32 n | n bytes of arguments
//   reply_tag (worker -> root), one frame per call:
//     u64 id | u8 status | u32 n | n bytes: the result, or an exception_record
//   stop_tag  (root -> worker), empty: the executor is shut down, return from run().
//
// Arguments and results are Boost.Serialization binary archives. A chunk (map with
// chunksize > 1) is one call whose arguments are a count and that many argument tuples, and
// whose result is, per element, a flag and the value or an exception_record.
#ifndef FUTURA_MPI_DETAIL_WIRE_HPP
#define FUTURA_MPI_DETAIL_WIRE_HPP

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace futura::mpi::detail {

inline constexpr int call_tag = 1, reply_tag = 2, stop_tag = 3;

enum class call_kind : std::uint8_t { single = 0, chunk = 1 };
enum class reply_status : std::uint8_t {
  value = 0,
  exception = 1,       // an exception_record
  not_registered = 2,  // no function of that name on the worker
  other_signature = 3  // a function of that name, of another type
};

/// An exception, as it travels: which standard type it is (or none), its dynamic type's
/// name and what(), so that the root can throw the same standard exception, or a
/// remote_error naming the original type.
struct exception_record {
  std::uint8_t kind = 0;
  int code = 0;  // std::system_error's value; its category is in `kind`
  std::string type_name;
  std::string what;
  template <class Archive>
  void serialize(Archive& ar, unsigned int) {
    // clang-format off
    ar & kind & code & type_name & what;
    // clang-format on
  }
};

/// Inside a catch block: the record of the exception being handled.
exception_record capture_current_exception();
/// The exception to store in the root's future: the standard type by type, else remote_error.
std::exception_ptr rebuild_exception(exception_record const& r, int rank);

/// A hash of the function type, sent with each call: a worker whose function of that name
/// has another type (a different binary) refuses the call instead of misreading it.
std::uint64_t signature_of(std::type_info const& fn_type) noexcept;

// Raw fields of a frame, native byte order: every rank runs the same binary on the same
// architecture (a heterogeneous cluster would need a portable archive throughout).
template <class T>
void put(std::vector<char>& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

/// Reads frames from one message; throws std::runtime_error on a truncated one.
class frame_reader {
 public:
  frame_reader(char const* data, std::size_t size) noexcept : p_(data), end_(data + size) {}
  bool at_end() const noexcept { return p_ == end_; }
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  /// `n` bytes, as a view into the message.
  std::string_view bytes(std::size_t n) {
    need(n);
    std::string_view v(p_, n);
    p_ += n;
    return v;
  }

 private:
  void need(std::size_t n) const {
    if (static_cast<std::size_t>(end_ - p_) < n)
      throw std::runtime_error(
          "futura::mpi: truncated message (do all ranks run the same binary?)");
  }
  char const* p_;
  char const* end_;
};

/// Writes a call frame's header; returns where its length goes, for end_frame().
inline std::size_t begin_call_frame(std::vector<char>& out, std::uint64_t id, call_kind kind,
                                    std::uint64_t signature, std::string_view name) {
  put(out, id);
  put(out, static_cast<std::uint8_t>(kind));
  put(out, signature);
  put(out, static_cast<std::uint16_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  put(out, std::uint32_t{0});
  return out.size() - sizeof(std::uint32_t);
}
inline std::size_t begin_reply_frame(std::vector<char>& out, std::uint64_t id, reply_status s) {
  put(out, id);
  put(out, static_cast<std::uint8_t>(s));
  put(out, std::uint32_t{0});
  return out.size() - sizeof(std::uint32_t);
}
/// The largest message: MPI counts are ints.
inline constexpr std::size_t max_message = INT32_MAX;

/// Patches the length written by begin_*_frame with what was appended since. Throws
/// std::length_error past what one message can carry.
inline void end_frame(std::vector<char>& out, std::size_t length_at) {
  if (out.size() > max_message)
    throw std::length_error(
        "futura::mpi: a call's arguments or result exceed 2 GiB, the most "
        "one MPI message carries");
  auto const len = static_cast<std::uint32_t>(out.size() - length_at - sizeof(std::uint32_t));
  std::memcpy(out.data() + length_at, &len, sizeof len);
}

/// A registered function, as the worker runs it. `call` reads the arguments, runs the
/// function and appends the result's archive to `out`, letting the function's exception
/// through; `chunk` does so for each element of a chunk, recording each element's
/// exception in place.
struct remote_entry {
  std::uint64_t signature;
  void (*call)(char const* args, std::size_t n, std::vector<char>& out);
  void (*chunk)(char const* args, std::size_t n, std::vector<char>& out);
};

/// Adds `name` to this process's table (from FUTURA_MPI_REGISTER, before main). A second,
/// different function under the same name is reported by run(), on every rank.
bool enrol(std::string_view name, remote_entry entry) noexcept;
/// The function registered as `name` in this process, or null.
remote_entry const* find_remote(std::string_view name) noexcept;
/// Removes `name` from this process's table: for tests of mismatched binaries.
void forget_remote(std::string_view name);
/// Throws if two different functions were registered under one name.
void check_registrations();

}  // namespace futura::mpi::detail

#endif
