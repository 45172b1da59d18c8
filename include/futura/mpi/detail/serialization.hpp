// futura/mpi/detail/serialization.hpp: Boost.Serialization over byte buffers, and the
// compile-time check that a type can travel at all.
#ifndef FUTURA_MPI_DETAIL_SERIALIZATION_HPP
#define FUTURA_MPI_DETAIL_SERIALIZATION_HPP

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/array.hpp>
#include <boost/serialization/complex.hpp>
#include <boost/serialization/deque.hpp>
#include <boost/serialization/list.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/set.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/unordered_set.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include <array>
#include <complex>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <streambuf>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

// Boost 1.81 serializes none of std::tuple, std::optional, std::variant; futura does, as
// remote calls often take or return them. Define FUTURA_MPI_NO_STD_SERIALIZE if your
// project (or a newer Boost) already does.
#ifndef FUTURA_MPI_NO_STD_SERIALIZE
namespace boost::serialization {

template <class Archive, class... T>
void serialize(Archive& ar, std::tuple<T...>& t, unsigned int) {
  std::apply([&](auto&... e) { ((ar & e), ...); }, t);
}

template <class Archive, class T>
void save(Archive& ar, std::optional<T> const& o, unsigned int) {
  bool const has = o.has_value();
  ar << has;
  if (has) ar << *o;
}
template <class Archive, class T>
void load(Archive& ar, std::optional<T>& o, unsigned int) {
  bool has = false;
  ar >> has;
  if (!has) {
    o.reset();
    return;
  }
  if (!o) o.emplace();
  ar >> *o;
}
template <class Archive, class T>
void serialize(Archive& ar, std::optional<T>& o, unsigned int v) {
  split_free(ar, o, v);
}

template <class Archive, class... T>
void save(Archive& ar, std::variant<T...> const& x, unsigned int) {
  unsigned const index = static_cast<unsigned>(x.index());
  ar << index;
  std::visit([&](auto const& e) { ar << e; }, x);
}
template <std::size_t I = 0, class Archive, class... T>
void load_alternative(Archive& ar, std::variant<T...>& x, unsigned index) {
  if constexpr (I < sizeof...(T)) {
    if (index == I)
      ar >> x.template emplace<I>();
    else
      load_alternative<I + 1>(ar, x, index);
  } else {
    throw std::invalid_argument("futura::mpi: std::variant index out of range in a message");
  }
}
template <class Archive, class... T>
void load(Archive& ar, std::variant<T...>& x, unsigned int) {
  unsigned index = 0;
  ar >> index;
  load_alternative(ar, x, index);
}
template <class Archive, class... T>
void serialize(Archive& ar, std::variant<T...>& x, unsigned int v) {
  split_free(ar, x, v);
}

}  // namespace boost::serialization
#endif

namespace boost::serialization {
// Probes for a free serialize() written for one type (Boost's own for the standard
// containers, or a user's, in this namespace or the type's): declared, never defined.
struct futura_mpi_probe_archive {};
struct futura_mpi_generic_serialize {};
template <class T>
futura_mpi_generic_serialize serialize(futura_mpi_probe_archive&, T&, unsigned int);
}  // namespace boost::serialization

namespace futura::mpi {

template <class T>
struct is_serializable;

namespace detail {

template <class T>
struct elements_serializable;  // the standard containers: serializable when their elements are

// A member named `serialize` of any access (Boost's intrusive form is usually private,
// with `friend class boost::serialization::access`): found by making the name ambiguous.
struct serialize_name_probe {
  int serialize;
};
template <class T>
struct serialize_name_derived : T, serialize_name_probe {};
// clang-format off
template <class T>
inline constexpr bool final_class = std::is_class_v<T> && std::is_final_v<T>;

template <class T>
concept has_member_serialize = std::is_class_v<T> && !std::is_final_v<T> &&
                               !requires { &serialize_name_derived<T>::serialize; };

// A free serialize() for T beats the probe's catch-all or is ambiguous with it; the catch-all
// alone resolves to the probe. Unqualified on purpose: ADL finds T's namespace and, through
// the probe archive, boost::serialization.
template <class T>
concept has_free_serialize = !requires(boost::serialization::futura_mpi_probe_archive& ar, T& t) {
  { serialize(ar, t, 0u) } -> std::same_as<boost::serialization::futura_mpi_generic_serialize>;
};

template <class T>
concept known_container = requires { elements_serializable<T>::value; };
// clang-format on

// A final class hides its members from the probe: trust it.
template <class T>
struct detect_serializable
    : std::bool_constant<std::is_arithmetic_v<T> || std::is_enum_v<T> || has_member_serialize<T> ||
                         has_free_serialize<T> || final_class<T>> {};

template <class... T>
inline constexpr bool all_serializable_v = (is_serializable<T>::value && ...);

template <class C, class Tr, class A>
struct elements_serializable<std::basic_string<C, Tr, A>> : std::is_arithmetic<C> {};
template <class T, class A>
struct elements_serializable<std::vector<T, A>> : std::bool_constant<all_serializable_v<T>> {};
template <class T, class A>
struct elements_serializable<std::list<T, A>> : std::bool_constant<all_serializable_v<T>> {};
template <class T, class A>
struct elements_serializable<std::deque<T, A>> : std::bool_constant<all_serializable_v<T>> {};
template <class T, std::size_t N>
struct elements_serializable<std::array<T, N>> : std::bool_constant<all_serializable_v<T>> {};
template <class K, class C, class A>
struct elements_serializable<std::set<K, C, A>> : std::bool_constant<all_serializable_v<K>> {};
template <class K, class C, class A>
struct elements_serializable<std::multiset<K, C, A>> : std::bool_constant<all_serializable_v<K>> {};
template <class K, class V, class C, class A>
struct elements_serializable<std::map<K, V, C, A>> : std::bool_constant<all_serializable_v<K, V>> {
};
template <class K, class V, class C, class A>
struct elements_serializable<std::multimap<K, V, C, A>>
    : std::bool_constant<all_serializable_v<K, V>> {};
template <class K, class H, class E, class A>
struct elements_serializable<std::unordered_set<K, H, E, A>>
    : std::bool_constant<all_serializable_v<K>> {};
template <class K, class V, class H, class E, class A>
struct elements_serializable<std::unordered_map<K, V, H, E, A>>
    : std::bool_constant<all_serializable_v<K, V>> {};
template <class A, class B>
struct elements_serializable<std::pair<A, B>> : std::bool_constant<all_serializable_v<A, B>> {};
template <class T>
struct elements_serializable<std::complex<T>> : std::is_arithmetic<T> {};
#ifndef FUTURA_MPI_NO_STD_SERIALIZE
template <class... T>
struct elements_serializable<std::tuple<T...>> : std::bool_constant<all_serializable_v<T...>> {};
template <class T>
struct elements_serializable<std::optional<T>> : std::bool_constant<all_serializable_v<T>> {};
template <class... T>
struct elements_serializable<std::variant<T...>> : std::bool_constant<all_serializable_v<T...>> {};
#endif
template <class T, std::size_t N>
struct elements_serializable<T[N]> : std::bool_constant<all_serializable_v<T>> {};

}  // namespace detail

namespace detail {
template <class T>
constexpr bool serializable() {
  if constexpr (std::is_pointer_v<T> || std::is_member_pointer_v<T> || std::is_reference_v<T>)
    return false;
  else if constexpr (known_container<T>)
    return elements_serializable<T>::value;
  else
    return detect_serializable<T>::value;
}
}  // namespace detail

/// Whether futura believes `T` can be sent with Boost.Serialization: an arithmetic or
/// enum type, a class with a serialize() member (of any access) or a free serialize(), a
/// standard container, pair, tuple, optional or variant of such types. Pointers and
/// references cannot travel. Specialize it to std::true_type for a type that serializes in
/// a way futura cannot see (a non-template serialize() for one archive type).
template <class T>
struct is_serializable : std::bool_constant<detail::serializable<T>()> {};

namespace detail {

/// Instantiated for every parameter and result type of a remote call. When it fails, the
/// compiler names the type in the "check_serializable<...>" instantiation above the message.
template <class T>
struct check_serializable {
  static_assert(is_serializable<T>::value,
                "futura::mpi: a parameter or result type of this remote function cannot be sent "
                "with Boost.Serialization (the type is the argument of check_serializable<> in "
                "the instantiation above): give it a serialize(Archive&, unsigned) member or a "
                "free serialize(), include the boost/serialization header for it, or "
                "specialize futura::mpi::is_serializable<T> if it serializes in a way futura "
                "cannot see");
  static_assert(std::is_default_constructible_v<T>,
                "futura::mpi: a parameter or result type of a remote function must be "
                "default-constructible: Boost.Serialization loads into an existing object");
  static constexpr bool value = true;
};

/// Appends what an archive writes to a byte vector.
class vector_sink : public std::streambuf {
 public:
  explicit vector_sink(std::vector<char>& out) noexcept : out_(out) {}

 protected:
  std::streamsize xsputn(char const* s, std::streamsize n) override {
    out_.insert(out_.end(), s, s + n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  std::vector<char>& out_;
};

/// Reads an archive from bytes that stay where they are.
class span_source : public std::streambuf {
 public:
  span_source(char const* data, std::size_t size) noexcept {
    auto* p = const_cast<char*>(data);  // get area only: never written through
    setg(p, p, p + size);
  }
};

// Binary archives without their header: the same binary runs on every rank (as MPI
// programs do), so there is no version to check, and a message is a few bytes.
inline constexpr unsigned archive_flags = boost::archive::no_header | boost::archive::no_codecvt;

/// An archive writing to the end of `out`.
class oarchive_to {
 public:
  explicit oarchive_to(std::vector<char>& out) : sink_(out), ar_(sink_, archive_flags) {}
  boost::archive::binary_oarchive& get() noexcept { return ar_; }

 private:
  vector_sink sink_;
  boost::archive::binary_oarchive ar_;
};

/// An archive reading `size` bytes at `data`.
class iarchive_from {
 public:
  iarchive_from(char const* data, std::size_t size)
      : source_(data, size), ar_(source_, archive_flags) {}
  boost::archive::binary_iarchive& get() noexcept { return ar_; }

 private:
  span_source source_;
  boost::archive::binary_iarchive ar_;
};

}  // namespace detail
}  // namespace futura::mpi

#endif
