"""The classifier's optimizer."""
from __future__ import annotations

import torch

_FOREACH_MUL_BY_TENSOR = hasattr(torch.ops.aten._foreach_mul_, "Tensor")  # torch >= 2.1


class NesterovSGD(torch.optim.Optimizer):
    """torch.optim.SGD(momentum, nesterov=True, weight_decay)'s update in foreach ops, with `set_lr` to change the
    learning rate between steps. With lr_on_device (for a CUDA graph) the rate lives in a device tensor that
    set_lr overwrites without a host sync, and the captured update reads it at every replay; otherwise it is
    the plain number of param_groups, as in SGD. Momentum buffers start at zero (the first update equals SGD's,
    which starts them at the first gradient) and keep SGD's state name, so either optimizer's checkpoint loads."""

    def __init__(self, params, lr: float, momentum: float, weight_decay: float, lr_on_device: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))
        first = self.param_groups[0]["params"][0]
        self.neg_lr = torch.full((), -lr, device=first.device) if lr_on_device else None

    def set_lr(self, lr: float) -> None:
        for group in self.param_groups:
            group["lr"] = lr
        if self.neg_lr is not None:
            self.neg_lr.fill_(-lr)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if "momentum_buffer" not in self.state[p]:
                    self.state[p]["momentum_buffer"] = torch.zeros_like(p)
            bufs = [self.state[p]["momentum_buffer"] for p in params]
            d_p = torch._foreach_add([p.grad for p in params], params, alpha=group["weight_decay"])
            torch._foreach_mul_(bufs, group["momentum"])
            torch._foreach_add_(bufs, d_p)
            torch._foreach_add_(d_p, bufs, alpha=group["momentum"])  # Nesterov: g + momentum * buf
            if self.neg_lr is None:
                torch._foreach_add_(params, d_p, alpha=-group["lr"])
            elif _FOREACH_MUL_BY_TENSOR:
                torch._foreach_mul_(d_p, self.neg_lr)
                torch._foreach_add_(params, d_p)
            else:
                for p, u in zip(params, d_p):
                    p.addcmul_(u, self.neg_lr)
