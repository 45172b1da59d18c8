// futura/mpi/detail/calls.hpp: a submitted call on the root, from submit() to its future's end.
#ifndef FUTURA_MPI_DETAIL_CALLS_HPP
#define FUTURA_MPI_DETAIL_CALLS_HPP

#include <futura/mpi/detail/serialization.hpp>
#include <futura/mpi/detail/wire.hpp>
#include <futura/promise.hpp>

#include <cstdint>
#include <exception>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace futura::mpi::detail {

/// The non-template half of a call: its frame, ready to send, and how to end it. Owned by
/// the executor's queue, then by the slot of the worker it was sent to; destroyed unfinished
/// (an executor torn down by an error), it breaks its promise: nobody waits forever.
class call_base {
 public:
  call_base(std::uint64_t id, std::string_view name) noexcept : id(id), name(name) {}
  call_base(call_base const&) = delete;
  call_base& operator=(call_base const&) = delete;
  virtual ~call_base() = default;

  /// Pending -> running, just before the call is sent: false if it was cancelled (or set
  /// by hand) meanwhile, and then it is not sent.
  virtual bool start() noexcept = 0;
  virtual void cancel() noexcept = 0;
  /// Ends the future from the worker's reply; a reply that cannot be read ends it with the
  /// reading error. Runs the future's inline callbacks.
  virtual void complete(reply_status status, std::string_view payload, int rank) noexcept = 0;

  std::uint64_t const id;
  std::string_view const name;  // the registered name: a string literal
  std::vector<char> frame;      // the call frame (wire.hpp)
};

/// The exception a non-value reply stands for.
std::exception_ptr reply_error(reply_status status, std::string_view payload, std::string_view name,
                               int rank) noexcept;

template <class T>
class call_with_promise : public call_base {
 public:
  using call_base::call_base;
  future<T> get_future() const { return p_.get_future(); }
  bool start() noexcept override {
    try {
      return p_.set_running_or_notify_cancel();
    } catch (...) {  // completed by hand through the future: nothing to run
      return false;
    }
  }
  void cancel() noexcept override {
    try {
      p_.get_future().cancel();
    } catch (...) {
    }
  }

 protected:
  promise<T> p_;
};

/// submit(): one call, one value.
template <class T>
class single_call final : public call_with_promise<T> {
 public:
  using call_with_promise<T>::call_with_promise;
  void complete(reply_status status, std::string_view payload, int rank) noexcept override {
    try {
      if (status != reply_status::value) {
        this->p_.try_set_exception(reply_error(status, payload, this->name, rank));
      } else if constexpr (std::is_void_v<T>) {
        this->p_.try_set_result();
      } else {
        T v{};
        {
          iarchive_from in(payload.data(), payload.size());
          in.get() >> v;
        }
        this->p_.try_set_result(std::move(v));
      }
    } catch (...) {
      this->p_.try_set_exception(std::current_exception());
    }
  }
};

/// One element of a chunk's result: its value, or what its call threw.
template <class T>
using element = std::variant<T, std::exception_ptr>;

/// map() with chunks: one call for several inputs, one result per input.
template <class T>
class chunk_call final : public call_with_promise<std::vector<element<T>>> {
 public:
  using call_with_promise<std::vector<element<T>>>::call_with_promise;
  void complete(reply_status status, std::string_view payload, int rank) noexcept override {
    try {
      if (status != reply_status::value) {
        this->p_.try_set_exception(reply_error(status, payload, this->name, rank));
        return;
      }
      frame_reader r(payload.data(), payload.size());
      auto const count = r.get<std::uint32_t>();
      auto const rest = r.bytes(payload.size() - sizeof(std::uint32_t));
      std::vector<element<T>> out;
      out.reserve(count);
      iarchive_from in(rest.data(), rest.size());
      for (std::uint32_t i = 0; i < count; ++i) {
        bool ok = false;
        in.get() >> ok;
        if (ok) {
          out.emplace_back(std::in_place_index<0>);
          in.get() >> std::get<0>(out.back());
        } else {
          exception_record e;
          in.get() >> e;
          out.emplace_back(std::in_place_index<1>, rebuild_exception(e, rank));
        }
      }
      this->p_.try_set_result(std::move(out));
    } catch (...) {
      this->p_.try_set_exception(std::current_exception());
    }
  }
};

}  // namespace futura::mpi::detail

#endif
