// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What the registry asks for the deposit of a new membership.
interface IPriceCalculator {
    /// @notice The ERC-20 token and the amount of it a membership of
    /// `rateLimit` messages per epoch costs.
    function calculate(uint32 rateLimit) external view returns (address, uint256);
}

/// The token address is zero: deposits are ERC-20 only.
error OnlyTokensAllowed();

/// @title LinearPriceCalculator
/// @notice The price calculator WakuRlnV2 is deployed with: a deposit of
/// `pricePerMessagePerEpoch` tokens per message of rate limit. Its owner
/// (the deployer) may change token and price.
contract LinearPriceCalculator is IPriceCalculator {
    /// @notice The ERC-20 deposits are paid in.
    address public token;
    /// @notice Deposit per message per epoch of rate limit, in token units.
    uint256 public pricePerMessagePerEpoch;
    /// @notice Who may change token and price.
    address public owner;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        require(msg.sender == owner, "Ownable: caller is not the owner");
        _;
    }

    constructor(address token_, uint256 pricePerMessagePerEpoch_) {
        _setOwner(msg.sender);
        _setTokenAndPrice(token_, pricePerMessagePerEpoch_);
    }

    /// @notice Sets the deposit token and the price per message per epoch.
    function setTokenAndPrice(address token_, uint256 pricePerMessagePerEpoch_) external onlyOwner {
        _setTokenAndPrice(token_, pricePerMessagePerEpoch_);
    }

    /// @inheritdoc IPriceCalculator
    function calculate(uint32 rateLimit) external view returns (address, uint256) {
        return (token, uint256(rateLimit) * pricePerMessagePerEpoch);
    }

    /// @notice Hands the calculator to newOwner.
    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "Ownable: new owner is the zero address");
        _setOwner(newOwner);
    }

    /// @notice Leaves the calculator without an owner: token and price are final.
    function renounceOwnership() external onlyOwner {
        _setOwner(address(0));
    }

    function _setTokenAndPrice(address token_, uint256 price) private {
        if (token_ == address(0)) revert OnlyTokensAllowed();
        token = token_;
        pricePerMessagePerEpoch = price;
    }

    function _setOwner(address newOwner) private {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
