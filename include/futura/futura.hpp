// futura/futura.hpp: everything futura offers. Boost.Thread interop lives apart, in
// <futura/boost_future.hpp>, so that only its users link Boost.Thread.
#ifndef FUTURA_FUTURA_HPP
#define FUTURA_FUTURA_HPP

#include <futura/as_completed.hpp>
#include <futura/errors.hpp>
#include <futura/future.hpp>
#include <futura/gather.hpp>
#include <futura/loop.hpp>
#include <futura/promise.hpp>
#include <futura/semaphore.hpp>
#include <futura/submit.hpp>
#include <futura/task_group.hpp>
#include <futura/thread_pool_executor.hpp>
#include <futura/use_future.hpp>
#include <futura/wait.hpp>

#endif
