// Everything differentiable, in one include: `#include "ops/ops.h"`.
#pragma once

#include "autograd/backward.h"
#include "autograd/node.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/interpolate.h"
#include "ops/linalg.h"
#include "ops/pool.h"
#include "ops/random.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/threads.h"
