// futura/mpi/remote.hpp: functions that a worker process can run, registered by name.
#ifndef FUTURA_MPI_REMOTE_HPP
#define FUTURA_MPI_REMOTE_HPP

#include <futura/mpi/detail/serialization.hpp>
#include <futura/mpi/detail/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace futura::mpi {

/// What FUTURA_MPI_REGISTER(fn) specializes for `fn`: its stable name. The primary template
/// says "not registered".
template <auto Fn>
struct registration {
  /// False here; FUTURA_MPI_REGISTER's specialization says true.
  static constexpr bool registered = false;
};

namespace detail {

template <class A>
inline constexpr bool not_an_out_param =
    !std::is_lvalue_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>;

template <class F>
struct fn_traits {
  static constexpr bool is_function = false;
};
template <class R, class... A>
struct fn_traits<R (*)(A...)> {
  static constexpr bool is_function = true;
  /// What the future holds: the returned type without reference or cv.
  using value_type = std::remove_cvref_t<R>;
  /// What travels for each argument: the parameter type without reference or cv.
  using params = std::tuple<std::remove_cvref_t<A>...>;
  static constexpr std::size_t arity = sizeof...(A);
  /// An argument the function could write to cannot come back: refused.
  static constexpr bool no_out_params = (not_an_out_param<A> && ...);
  static constexpr bool types_ok =
      (check_serializable<std::remove_cvref_t<A>>::value && ... && true) &&
      std::conditional_t<std::is_void_v<R>, std::true_type, check_serializable<value_type>>::value;
};
template <class R, class... A>
struct fn_traits<R (*)(A...) noexcept> : fn_traits<R (*)(A...)> {};

/// Loads a tuple of arguments, in order.
template <class Archive, class Tuple>
void load_args(Archive& ar, Tuple& args) {
  std::apply([&](auto&... a) { ((ar >> a), ...); }, args);
}

/// The worker's half of a registered function: read arguments, call, write the result.
template <auto Fn>
struct invoker {
  using traits = fn_traits<decltype(Fn)>;
  using value_type = typename traits::value_type;
  using params = typename traits::params;

  static void call(char const* data, std::size_t n, std::vector<char>& out) {
    params args;
    {
      iarchive_from in(data, n);
      load_args(in.get(), args);
    }
    if constexpr (std::is_void_v<value_type>) {
      std::apply(Fn, std::move(args));
    } else {
      value_type const r = std::apply(Fn, std::move(args));
      oarchive_to o(out);
      o.get() << r;
    }
  }

  static void chunk(char const* data, std::size_t n, std::vector<char>& out) {
    frame_reader r(data, n);
    auto const count = r.get<std::uint32_t>();
    auto const rest = r.bytes(n - sizeof count);
    iarchive_from in(rest.data(), rest.size());
    put(out, count);
    oarchive_to o(out);
    for (std::uint32_t i = 0; i < count; ++i) {
      params args;
      load_args(in.get(), args);
      bool ok = true;
      try {
        if constexpr (std::is_void_v<value_type>) {
          std::apply(Fn, std::move(args));
          o.get() << ok;
        } else {
          value_type const r = std::apply(Fn, std::move(args));
          o.get() << ok << r;
        }
      } catch (...) {
        ok = false;
        exception_record const e = capture_current_exception();
        o.get() << ok << e;
      }
    }
  }

  static std::uint64_t signature() {
    static std::uint64_t const s = signature_of(typeid(decltype(Fn)));
    return s;
  }

  static bool enrol_as(std::string_view name) noexcept {
    return detail::enrol(name, remote_entry{signature(), &call, &chunk});
  }
};

}  // namespace detail

/// A registered function, as the root names it in submit() and map(): `remote<fn>`. Its
/// use is checked at compile time: `fn` must be registered (FUTURA_MPI_REGISTER(fn) visible
/// here), take its arguments by value or const&, and every parameter and result type must
/// be serializable (is_serializable) and default-constructible.
template <auto Fn>
class remote_function {
  using traits = detail::fn_traits<decltype(Fn)>;
  static_assert(traits::is_function,
                "futura::mpi::remote<f>: f must be a function (a lambda or a member cannot be "
                "named in another process; wrap it in a function and register that)");
  static_assert(registration<Fn>::registered,
                "futura::mpi::remote<f>: f is not registered; write FUTURA_MPI_REGISTER(f) at "
                "global scope, where this call can see it");

 public:
  /// What the function returns: the T of the future submit() gives.
  using value_type = typename traits::value_type;
  /// The function's parameter types, without const or references, as a std::tuple:
  /// what travels.
  using params = typename traits::params;
  /// The number of parameters.
  static constexpr std::size_t arity = traits::arity;

  /// The name the function travels under (the one written in FUTURA_MPI_REGISTER).
  static constexpr std::string_view name() noexcept { return registration<Fn>::name; }
  /// A hash of the parameter and result types, so that a worker built with another
  /// signature under the same name is told apart (not_registered_error).
  static std::uint64_t signature() { return detail::invoker<Fn>::signature(); }
};

/// `ex.submit(futura::mpi::remote<square>, 7)`: the remote form of `square`.
template <auto Fn>
inline constexpr remote_function<Fn> remote{};

}  // namespace futura::mpi

/// Registers `fn` (a function, not an overload set: cast to pick an overload, and use
/// FUTURA_MPI_REGISTER_AS to name it) under its own spelling, e.g. "square" or
/// "geometry::area", in every process running this binary. At global scope, once per
/// program: in a header if several files submit it. Checks at compile time that its
/// parameter and result types can be serialized, and names the first one that cannot.
#define FUTURA_MPI_REGISTER(fn) FUTURA_MPI_REGISTER_AS(fn, #fn)

/// As FUTURA_MPI_REGISTER, under a name of your choosing (a string literal).
#define FUTURA_MPI_REGISTER_AS(fn, name_)                                                        \
  template <>                                                                                    \
  struct futura::mpi::registration<fn> {                                                         \
    static_assert(::futura::mpi::detail::fn_traits<::std::decay_t<decltype(fn)>>::is_function,   \
                  "FUTURA_MPI_REGISTER(f): f must be a function");                               \
    static_assert(::futura::mpi::detail::fn_traits<::std::decay_t<decltype(fn)>>::no_out_params, \
                  "FUTURA_MPI_REGISTER(f): a remote function takes its arguments by value or "   \
                  "const& (a T& parameter could not be written back to the caller)");            \
    static_assert(::futura::mpi::detail::fn_traits<::std::decay_t<decltype(fn)>>::types_ok);     \
    static constexpr bool registered = true;                                                     \
    static constexpr ::std::string_view name = name_;                                            \
    inline static bool const enrolled = ::futura::mpi::detail::invoker<fn>::enrol_as(name_);     \
  }

#endif
