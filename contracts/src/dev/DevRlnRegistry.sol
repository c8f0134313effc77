// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RlnRegistry} from "../RlnRegistry.sol";

/// @title DevRlnRegistry
/// @notice DEV CHAINS ONLY. RlnRegistry plus registerBatch, which WakuRlnV2
/// does not have: it fills a dev chain's registry with many memberships in
/// one transaction. Everything else is RlnRegistry's, so a dev chain runs
/// the same register, erase, extend and view paths as Linea Sepolia. No
/// production path of rlnd calls registerBatch; `rlnd membership register`
/// calls register.
contract DevRlnRegistry is RlnRegistry {
    /// @notice Registers each commitment with rateLimit for msg.sender: the
    /// same checks, deposits, indices and events as one register() each,
    /// in order, with nothing to erase.
    function registerBatch(uint256[] calldata idCommitments, uint32 rateLimit) external {
        for (uint256 i = 0; i < idCommitments.length; i++) {
            _checkRegistrable(idCommitments[i]);
            _register(idCommitments[i], rateLimit);
        }
    }
}
