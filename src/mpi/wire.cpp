// futura::mpi's non-template pieces that do not touch MPI itself: the registry of remote
// functions, exceptions as they travel, the error types, the environment.
#include <futura/mpi/detail/calls.hpp>
#include <futura/mpi/detail/wire.hpp>
#include <futura/mpi/environment.hpp>
#include <futura/mpi/errors.hpp>

#include <cxxabi.h>
#include <any>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <unordered_map>
#include <variant>
#include <vector>

namespace futura::mpi {

namespace {

std::string remote_what(std::string const& type_name, std::string const& message) {
  return message.empty() ? "remote call threw " + type_name : type_name + ": " + message;
}

std::string not_registered_what(std::string const& name, int rank, bool signature_differs) {
  if (signature_differs)
    return "futura::mpi: the function registered as '" + name + "' on rank " +
           std::to_string(rank) +
           " has another type than the root's (do all ranks run the same binary?)";
  return "futura::mpi: no function is registered as '" + name + "' on rank " +
         std::to_string(rank) +
         " (do all ranks run the same binary, built with FUTURA_MPI_REGISTER(" + name + ")?)";
}

}  // namespace

remote_error::remote_error(std::string type_name, std::string message, int rank)
    : error(remote_what(type_name, message)),
      type_name_(std::move(type_name)),
      message_(std::move(message)),
      rank_(rank) {}

not_registered_error::not_registered_error(std::string name, int rank, bool signature_differs)
    : error(not_registered_what(name, rank, signature_differs)),
      name_(std::move(name)),
      rank_(rank) {}

environment::environment(int& argc, char**& argv, boost::mpi::threading::level level) {
  // abort_on_exception off: check() throws from here, and an MPI_Abort would hide the
  // message; an exception that escapes main() still ends the job (std::terminate).
  env_.emplace(argc, argv, level < needed_thread_level ? needed_thread_level : level, false);
  check(level);
}

environment::environment(boost::mpi::threading::level level) {
  env_.emplace(level < needed_thread_level ? needed_thread_level : level, false);
  check(level);
}

void environment::check(boost::mpi::threading::level requested) {
  auto const got = boost::mpi::environment::thread_level();
  auto const wanted = requested < needed_thread_level ? needed_thread_level : requested;
  if (got >= wanted) return;
  std::ostringstream m;
  m << "futura::mpi::environment: asked MPI for thread level " << wanted << ", it gives " << got
    << (got < needed_thread_level
            ? "; futura::mpi needs at least serialized (MPI_THREAD_SERIALIZED): the root's "
              "progress thread calls MPI. Use an MPI built with thread support (Open MPI "
              "and MPICH are, by default)"
            : "");
  env_.reset();  // finalizes MPI
  throw std::runtime_error(m.str());
}

namespace detail {

namespace {

// The exceptions that come back as themselves. `other` is a remote_error.
enum kind : std::uint8_t {
  other = 0,
  not_std,
  exception,
  logic_error,
  invalid_argument,
  domain_error,
  length_error,
  out_of_range,
  future_error,
  runtime_error,
  range_error,
  overflow_error,
  underflow_error,
  system_error_generic,
  system_error_system,
  bad_alloc,
  bad_array_new_length,
  bad_cast,
  bad_typeid,
  bad_function_call,
  bad_optional_access,
  bad_variant_access,
  bad_weak_ptr,
  bad_exception,
  bad_any_cast,
  futura_error,
  cancelled_error,
  timeout_error,
  invalid_state_error,
  broken_executor,
  broken_thread_pool,
  broken_promise,
};

struct known_type {
  std::type_info const* type;
  kind k;
};

// Exact types only: a user's class derived from std::runtime_error is not a runtime_error
// here, it is a remote_error that names it.
known_type const known_types[] = {
    {&typeid(std::exception), exception},
    {&typeid(std::logic_error), logic_error},
    {&typeid(std::invalid_argument), invalid_argument},
    {&typeid(std::domain_error), domain_error},
    {&typeid(std::length_error), length_error},
    {&typeid(std::out_of_range), out_of_range},
    {&typeid(std::runtime_error), runtime_error},
    {&typeid(std::range_error), range_error},
    {&typeid(std::overflow_error), overflow_error},
    {&typeid(std::underflow_error), underflow_error},
    {&typeid(std::bad_alloc), bad_alloc},
    {&typeid(std::bad_array_new_length), bad_array_new_length},
    {&typeid(std::bad_cast), bad_cast},
    {&typeid(std::bad_typeid), bad_typeid},
    {&typeid(std::bad_function_call), bad_function_call},
    {&typeid(std::bad_optional_access), bad_optional_access},
    {&typeid(std::bad_variant_access), bad_variant_access},
    {&typeid(std::bad_weak_ptr), bad_weak_ptr},
    {&typeid(std::bad_exception), bad_exception},
    {&typeid(std::bad_any_cast), bad_any_cast},
    {&typeid(futura::error), futura_error},
    {&typeid(futura::cancelled_error), cancelled_error},
    {&typeid(futura::timeout_error), timeout_error},
    {&typeid(futura::invalid_state_error), invalid_state_error},
    {&typeid(futura::broken_executor), broken_executor},
    {&typeid(futura::broken_thread_pool), broken_thread_pool},
    {&typeid(futura::broken_promise), broken_promise},
};

std::string demangle(char const* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

/// std::system_error's what() is "<what_arg>: <message>": take the what_arg back.
std::string system_error_arg(std::string const& what, std::error_code const& ec) {
  auto const tail = ": " + ec.message();
  if (what.size() >= tail.size() && what.compare(what.size() - tail.size(), tail.size(), tail) == 0)
    return what.substr(0, what.size() - tail.size());
  return what;
}

struct registry {
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::mutex mutex;
  std::unordered_map<std::string, remote_entry, hash, std::equal_to<>> table;
  std::vector<std::string> conflicts;
};

registry& the_registry() {
  static registry r;  // built on first use: registrations run before main, in any order
  return r;
}

}  // namespace

exception_record capture_current_exception() {
  exception_record r;
  try {
    throw;
  } catch (remote_error const& e) {  // a remote call that made a remote call: keep the original
    r.kind = other;
    r.type_name = e.type_name();
    r.what = e.message();
  } catch (std::exception const& e) {
    std::type_info const& t = typeid(e);
    r.type_name = demangle(t.name());
    r.what = e.what();
    r.kind = other;
    for (auto const& k : known_types)
      if (*k.type == t) r.kind = k.k;
    if (t == typeid(std::system_error)) {
      auto const& ec = static_cast<std::system_error const&>(e).code();
      if (ec.category() == std::generic_category() || ec.category() == std::system_category()) {
        r.kind =
            ec.category() == std::generic_category() ? system_error_generic : system_error_system;
        r.code = ec.value();
      }
    } else if (t == typeid(std::future_error)) {
      r.kind = future_error;
      r.code = static_cast<std::future_error const&>(e).code().value();
    }
  } catch (...) {
    r.kind = not_std;
    auto const* t = abi::__cxa_current_exception_type();
    r.type_name = t ? demangle(t->name()) : "an unknown exception";
  }
  return r;
}

std::exception_ptr rebuild_exception(exception_record const& r, int rank) {
  auto const& w = r.what;
  switch (static_cast<kind>(r.kind)) {
    case exception:
      return std::make_exception_ptr(std::exception());
    case logic_error:
      return std::make_exception_ptr(std::logic_error(w));
    case invalid_argument:
      return std::make_exception_ptr(std::invalid_argument(w));
    case domain_error:
      return std::make_exception_ptr(std::domain_error(w));
    case length_error:
      return std::make_exception_ptr(std::length_error(w));
    case out_of_range:
      return std::make_exception_ptr(std::out_of_range(w));
    case future_error:
      return std::make_exception_ptr(std::future_error(static_cast<std::future_errc>(r.code)));
    case runtime_error:
      return std::make_exception_ptr(std::runtime_error(w));
    case range_error:
      return std::make_exception_ptr(std::range_error(w));
    case overflow_error:
      return std::make_exception_ptr(std::overflow_error(w));
    case underflow_error:
      return std::make_exception_ptr(std::underflow_error(w));
    case system_error_generic:
    case system_error_system: {
      std::error_code const ec(r.code, r.kind == system_error_generic ? std::generic_category()
                                                                      : std::system_category());
      if (w == ec.message()) return std::make_exception_ptr(std::system_error(ec));
      return std::make_exception_ptr(std::system_error(ec, system_error_arg(w, ec)));
    }
    case bad_alloc:
      return std::make_exception_ptr(std::bad_alloc());
    case bad_array_new_length:
      return std::make_exception_ptr(std::bad_array_new_length());
    case bad_cast:
      return std::make_exception_ptr(std::bad_cast());
    case bad_typeid:
      return std::make_exception_ptr(std::bad_typeid());
    case bad_function_call:
      return std::make_exception_ptr(std::bad_function_call());
    case bad_optional_access:
      return std::make_exception_ptr(std::bad_optional_access());
    case bad_variant_access:
      return std::make_exception_ptr(std::bad_variant_access());
    case bad_weak_ptr:
      return std::make_exception_ptr(std::bad_weak_ptr());
    case bad_exception:
      return std::make_exception_ptr(std::bad_exception());
    case bad_any_cast:
      return std::make_exception_ptr(std::bad_any_cast());
    case futura_error:
      return std::make_exception_ptr(futura::error(w));
    case cancelled_error:
      return std::make_exception_ptr(futura::cancelled_error(w));
    case timeout_error:
      return std::make_exception_ptr(futura::timeout_error(w));
    case invalid_state_error:
      return std::make_exception_ptr(futura::invalid_state_error(w));
    case broken_executor:
      return std::make_exception_ptr(futura::broken_executor(w));
    case broken_thread_pool:
      return std::make_exception_ptr(futura::broken_thread_pool(w));
    case broken_promise:
      return std::make_exception_ptr(futura::broken_promise(w));
    case other:
    case not_std:
      break;
  }
  return std::make_exception_ptr(remote_error(r.type_name, r.what, rank));
}

std::exception_ptr reply_error(reply_status status, std::string_view payload, std::string_view name,
                               int rank) noexcept {
  try {
    switch (status) {
      case reply_status::exception: {
        exception_record e;
        iarchive_from in(payload.data(), payload.size());
        in.get() >> e;
        return rebuild_exception(e, rank);
      }
      case reply_status::not_registered:
      case reply_status::other_signature:
        return std::make_exception_ptr(
            not_registered_error(std::string(name), rank, status == reply_status::other_signature));
      default:
        throw std::runtime_error("futura::mpi: a reply with an unknown status");
    }
  } catch (...) {
    return std::current_exception();
  }
}

std::uint64_t signature_of(std::type_info const& fn_type) noexcept {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a of the mangled type
  for (char const* p = fn_type.name(); *p; ++p)
    h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  return h;
}

bool enrol(std::string_view name, remote_entry entry) noexcept {
  try {
    auto& r = the_registry();
    std::lock_guard lk(r.mutex);
    auto [it, added] = r.table.try_emplace(std::string(name), entry);
    if (!added && it->second.call != entry.call) r.conflicts.emplace_back(name);
    return true;
  } catch (...) {
    return false;
  }
}

remote_entry const* find_remote(std::string_view name) noexcept {
  auto& r = the_registry();
  std::lock_guard lk(r.mutex);
  auto const it = r.table.find(name);
  return it == r.table.end() ? nullptr : &it->second;
}

void forget_remote(std::string_view name) {
  auto& r = the_registry();
  std::lock_guard lk(r.mutex);
  if (auto const it = r.table.find(name); it != r.table.end()) r.table.erase(it);
}

void check_registrations() {
  auto& r = the_registry();
  std::lock_guard lk(r.mutex);
  if (r.conflicts.empty()) return;
  std::string names;
  for (auto const& n : r.conflicts) names += (names.empty() ? "'" : ", '") + n + "'";
  throw std::logic_error("futura::mpi: different functions are registered under the same name: " +
                         names + " (use FUTURA_MPI_REGISTER_AS to give them distinct names)");
}

}  // namespace detail
}  // namespace futura::mpi
