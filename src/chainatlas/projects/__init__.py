"""The project ledger (招商项目库), industry targets (产业目标) and 招商 lists.

    stages.py     the stage machine (线索 → 洽谈 → 签约 → 注册 → 开工 → 投产, 暂停, 终止)
    codes.py      project codes: GB/T 40058-2021 structure or the bureau's own pattern
    ledger.py     projects and their append-only events; versions for concurrent edits
    scopes.py     where an analyst may write (a region and its subdivisions, or a park)

Every write takes an ``actor`` and lands in the audit log in its own transaction.
"""
