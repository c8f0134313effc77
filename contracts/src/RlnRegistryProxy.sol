// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RlnRegistryProxy
/// @notice An ERC-1967 proxy, as WakuRlnV2 is deployed behind: it keeps the
/// registry's storage and forwards every call to the implementation whose
/// address is in the ERC-1967 implementation slot. The implementation
/// (RlnRegistry, a UUPS implementation) changes it on upgradeTo.
contract RlnRegistryProxy {
    /// @dev keccak256("eip1967.proxy.implementation") - 1.
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    event Upgraded(address indexed implementation);

    /// @param implementation the registry implementation.
    /// @param data the initialize(...) call run in the proxy's storage (may be empty).
    constructor(address implementation, bytes memory data) payable {
        require(implementation.code.length > 0, "ERC1967: new implementation is not a contract");
        assembly {
            sstore(IMPLEMENTATION_SLOT, implementation)
        }
        emit Upgraded(implementation);
        if (data.length != 0) {
            (bool ok, bytes memory ret) = implementation.delegatecall(data);
            if (!ok) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }

    fallback() external payable {
        _forward();
    }

    receive() external payable {
        _forward();
    }

    /// @dev Runs the call in the implementation's code on this storage and
    /// returns or reverts with what it returned.
    function _forward() private {
        assembly {
            let impl := sload(IMPLEMENTATION_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
