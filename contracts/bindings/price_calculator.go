// Code generated - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = errors.New
	_ = big.NewInt
	_ = strings.NewReader
	_ = ethereum.NotFound
	_ = bind.Bind
	_ = common.Big1
	_ = types.BloomLookup
	_ = event.NewSubscription
	_ = abi.ConvertType
	_ = time.Tick
	_ = context.Background
)

// LinearPriceCalculatorMetaData contains all meta data concerning the LinearPriceCalculator contract.
var LinearPriceCalculatorMetaData = &bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token_\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"pricePerMessagePerEpoch_\",\"type\":\"uint256\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[],\"name\":\"OnlyTokensAllowed\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"previousOwner\",\"type\":\"address\"},{\"indexed\":true,\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"OwnershipTransferred\",\"type\":\"event\"},{\"inputs\":[{\"internalType\":\"uint32\",\"name\":\"rateLimit\",\"type\":\"uint32\"}],\"name\":\"calculate\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"owner\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"pricePerMessagePerEpoch\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"renounceOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token_\",\"type\":\"address\"},{\"internalType\":\"uint256\",\"name\":\"pricePerMessagePerEpoch_\",\"type\":\"uint256\"}],\"name\":\"setTokenAndPrice\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"token\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address\",\"name\":\"newOwner\",\"type\":\"address\"}],\"name\":\"transferOwnership\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"}]",
	Bin: "0x60803460d257601f6104d038819003918201601f19168301916001600160401b0383118484101760d757808492604094855283398101031260d25780516001600160a01b038116919082900360d257602001516002546040519290336001600160a01b0382167f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0600080a36001600160a01b0319163317600255801560c157600080546001600160a01b0319169190911790556001556103e290816100ee8239f35b63dfa4a2a760e01b60005260046000fd5b600080fd5b634e487b7160e01b600052604160045260246000fdfe6080604052600436101561001257600080fd5b60003560e01c8063179750ec146102c1578063715018a61461024b5780638b1ac10f1461022d5780638da5cb5b14610206578063c96ca02f14610186578063f2fde38b146100955763fc0c546a1461006957600080fd5b346100905760003660031901126100905760206001600160a01b0360005416604051908152f35b600080fd5b34610090576020366003190112610090576001600160a01b036100b661034b565b6100c582600254163314610361565b16801561011c5773ffffffffffffffffffffffffffffffffffffffff19600254826001600160a01b0382167f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0600080a31617600255005b608460405162461bcd60e51b815260206004820152602660248201527f4f776e61626c653a206e6577206f776e657220697320746865207a65726f206160448201527f64647265737300000000000000000000000000000000000000000000000000006064820152fd5b346100905760203660031901126100905760043563ffffffff8116809103610090576001600160a01b0360005416600154918281029281840414901517156101d75760409182519182526020820152f35b7f4e487b7100000000000000000000000000000000000000000000000000000000600052601160045260246000fd5b346100905760003660031901126100905760206001600160a01b0360025416604051908152f35b34610090576000366003190112610090576020600154604051908152f35b34610090576000366003190112610090576102726001600160a01b03600254163314610361565b73ffffffffffffffffffffffffffffffffffffffff1960025460006001600160a01b0382167f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e08280a316600255005b34610090576040366003190112610090576001600160a01b036102e261034b565b6102f182600254163314610361565b1680156103215773ffffffffffffffffffffffffffffffffffffffff196000541617600055602435600155600080f35b7fdfa4a2a70000000000000000000000000000000000000000000000000000000060005260046000fd5b600435906001600160a01b038216820361009057565b1561036857565b606460405162461bcd60e51b815260206004820152602060248201527f4f776e61626c653a2063616c6c6572206973206e6f7420746865206f776e65726044820152fdfea26469706673582212202a0359b532e9d6791c8be4bad546e6a67223170fe193f66969d52e5ba81441ec64736f6c634300081c0033",
}

// LinearPriceCalculatorABI is the input ABI used to generate the binding from.
// Deprecated: Use LinearPriceCalculatorMetaData.ABI instead.
var LinearPriceCalculatorABI = LinearPriceCalculatorMetaData.ABI

// LinearPriceCalculatorBin is the compiled bytecode used for deploying new contracts.
// Deprecated: Use LinearPriceCalculatorMetaData.Bin instead.
var LinearPriceCalculatorBin = LinearPriceCalculatorMetaData.Bin

// DeployLinearPriceCalculator deploys a new Ethereum contract, binding an instance of LinearPriceCalculator to it.
func DeployLinearPriceCalculator(auth *bind.TransactOpts, backend bind.ContractBackend, token_ common.Address, pricePerMessagePerEpoch_ *big.Int) (common.Address, *types.Transaction, *LinearPriceCalculator, error) {
	parsed, err := LinearPriceCalculatorMetaData.GetAbi()
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	if parsed == nil {
		return common.Address{}, nil, nil, errors.New("GetABI returned nil")
	}

	address, tx, contract, err := bind.DeployContract(auth, *parsed, common.FromHex(LinearPriceCalculatorBin), backend, token_, pricePerMessagePerEpoch_)
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	return address, tx, &LinearPriceCalculator{LinearPriceCalculatorCaller: LinearPriceCalculatorCaller{contract: contract}, LinearPriceCalculatorTransactor: LinearPriceCalculatorTransactor{contract: contract}, LinearPriceCalculatorFilterer: LinearPriceCalculatorFilterer{contract: contract}}, nil
}

// LinearPriceCalculator is an auto generated Go binding around an Ethereum contract.
type LinearPriceCalculator struct {
	LinearPriceCalculatorCaller     // Read-only binding to the contract
	LinearPriceCalculatorTransactor // Write-only binding to the contract
	LinearPriceCalculatorFilterer   // Log filterer for contract events
}

// LinearPriceCalculatorCaller is an auto generated read-only Go binding around an Ethereum contract.
type LinearPriceCalculatorCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// LinearPriceCalculatorTransactor is an auto generated write-only Go binding around an Ethereum contract.
type LinearPriceCalculatorTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// LinearPriceCalculatorFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type LinearPriceCalculatorFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// LinearPriceCalculatorSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type LinearPriceCalculatorSession struct {
	Contract     *LinearPriceCalculator // Generic contract binding to set the session for
	CallOpts     bind.CallOpts          // Call options to use throughout this session
	TransactOpts bind.TransactOpts      // Transaction auth options to use throughout this session
}

// LinearPriceCalculatorCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type LinearPriceCalculatorCallerSession struct {
	Contract *LinearPriceCalculatorCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts                // Call options to use throughout this session
}

// LinearPriceCalculatorTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type LinearPriceCalculatorTransactorSession struct {
	Contract     *LinearPriceCalculatorTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts                // Transaction auth options to use throughout this session
}

// LinearPriceCalculatorRaw is an auto generated low-level Go binding around an Ethereum contract.
type LinearPriceCalculatorRaw struct {
	Contract *LinearPriceCalculator // Generic contract binding to access the raw methods on
}

// LinearPriceCalculatorCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type LinearPriceCalculatorCallerRaw struct {
	Contract *LinearPriceCalculatorCaller // Generic read-only contract binding to access the raw methods on
}

// LinearPriceCalculatorTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type LinearPriceCalculatorTransactorRaw struct {
	Contract *LinearPriceCalculatorTransactor // Generic write-only contract binding to access the raw methods on
}

// NewLinearPriceCalculator creates a new instance of LinearPriceCalculator, bound to a specific deployed contract.
func NewLinearPriceCalculator(address common.Address, backend bind.ContractBackend) (*LinearPriceCalculator, error) {
	contract, err := bindLinearPriceCalculator(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &LinearPriceCalculator{LinearPriceCalculatorCaller: LinearPriceCalculatorCaller{contract: contract}, LinearPriceCalculatorTransactor: LinearPriceCalculatorTransactor{contract: contract}, LinearPriceCalculatorFilterer: LinearPriceCalculatorFilterer{contract: contract}}, nil
}

// NewLinearPriceCalculatorCaller creates a new read-only instance of LinearPriceCalculator, bound to a specific deployed contract.
func NewLinearPriceCalculatorCaller(address common.Address, caller bind.ContractCaller) (*LinearPriceCalculatorCaller, error) {
	contract, err := bindLinearPriceCalculator(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &LinearPriceCalculatorCaller{contract: contract}, nil
}

// NewLinearPriceCalculatorTransactor creates a new write-only instance of LinearPriceCalculator, bound to a specific deployed contract.
func NewLinearPriceCalculatorTransactor(address common.Address, transactor bind.ContractTransactor) (*LinearPriceCalculatorTransactor, error) {
	contract, err := bindLinearPriceCalculator(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &LinearPriceCalculatorTransactor{contract: contract}, nil
}

// NewLinearPriceCalculatorFilterer creates a new log filterer instance of LinearPriceCalculator, bound to a specific deployed contract.
func NewLinearPriceCalculatorFilterer(address common.Address, filterer bind.ContractFilterer) (*LinearPriceCalculatorFilterer, error) {
	contract, err := bindLinearPriceCalculator(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &LinearPriceCalculatorFilterer{contract: contract}, nil
}

// bindLinearPriceCalculator binds a generic wrapper to an already deployed contract.
func bindLinearPriceCalculator(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := LinearPriceCalculatorMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_LinearPriceCalculator *LinearPriceCalculatorRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _LinearPriceCalculator.Contract.LinearPriceCalculatorCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_LinearPriceCalculator *LinearPriceCalculatorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.LinearPriceCalculatorTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_LinearPriceCalculator *LinearPriceCalculatorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.LinearPriceCalculatorTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_LinearPriceCalculator *LinearPriceCalculatorCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _LinearPriceCalculator.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_LinearPriceCalculator *LinearPriceCalculatorTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_LinearPriceCalculator *LinearPriceCalculatorTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.contract.Transact(opts, method, params...)
}

// Calculate is a free data retrieval call binding the contract method 0xc96ca02f.
//
// Solidity: function calculate(uint32 rateLimit) view returns(address, uint256)
func (_LinearPriceCalculator *LinearPriceCalculatorCaller) Calculate(opts *bind.CallOpts, rateLimit uint32) (common.Address, *big.Int, error) {
	var out []interface{}
	err := _LinearPriceCalculator.contract.Call(opts, &out, "calculate", rateLimit)

	if err != nil {
		return *new(common.Address), *new(*big.Int), err
	}

	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	out1 := *abi.ConvertType(out[1], new(*big.Int)).(**big.Int)

	return out0, out1, err

}

// Calculate is a free data retrieval call binding the contract method 0xc96ca02f.
//
// Solidity: function calculate(uint32 rateLimit) view returns(address, uint256)
func (_LinearPriceCalculator *LinearPriceCalculatorSession) Calculate(rateLimit uint32) (common.Address, *big.Int, error) {
	return _LinearPriceCalculator.Contract.Calculate(&_LinearPriceCalculator.CallOpts, rateLimit)
}

// Calculate is a free data retrieval call binding the contract method 0xc96ca02f.
//
// Solidity: function calculate(uint32 rateLimit) view returns(address, uint256)
func (_LinearPriceCalculator *LinearPriceCalculatorCallerSession) Calculate(rateLimit uint32) (common.Address, *big.Int, error) {
	return _LinearPriceCalculator.Contract.Calculate(&_LinearPriceCalculator.CallOpts, rateLimit)
}

// Owner is a free data retrieval call binding the contract method 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (_LinearPriceCalculator *LinearPriceCalculatorCaller) Owner(opts *bind.CallOpts) (common.Address, error) {
	var out []interface{}
	err := _LinearPriceCalculator.contract.Call(opts, &out, "owner")

	if err != nil {
		return *new(common.Address), err
	}

	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)

	return out0, err

}

// Owner is a free data retrieval call binding the contract method 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (_LinearPriceCalculator *LinearPriceCalculatorSession) Owner() (common.Address, error) {
	return _LinearPriceCalculator.Contract.Owner(&_LinearPriceCalculator.CallOpts)
}

// Owner is a free data retrieval call binding the contract method 0x8da5cb5b.
//
// Solidity: function owner() view returns(address)
func (_LinearPriceCalculator *LinearPriceCalculatorCallerSession) Owner() (common.Address, error) {
	return _LinearPriceCalculator.Contract.Owner(&_LinearPriceCalculator.CallOpts)
}

// PricePerMessagePerEpoch is a free data retrieval call binding the contract method 0x8b1ac10f.
//
// Solidity: function pricePerMessagePerEpoch() view returns(uint256)
func (_LinearPriceCalculator *LinearPriceCalculatorCaller) PricePerMessagePerEpoch(opts *bind.CallOpts) (*big.Int, error) {
	var out []interface{}
	err := _LinearPriceCalculator.contract.Call(opts, &out, "pricePerMessagePerEpoch")

	if err != nil {
		return *new(*big.Int), err
	}

	out0 := *abi.ConvertType(out[0], new(*big.Int)).(**big.Int)

	return out0, err

}

// PricePerMessagePerEpoch is a free data retrieval call binding the contract method 0x8b1ac10f.
//
// Solidity: function pricePerMessagePerEpoch() view returns(uint256)
func (_LinearPriceCalculator *LinearPriceCalculatorSession) PricePerMessagePerEpoch() (*big.Int, error) {
	return _LinearPriceCalculator.Contract.PricePerMessagePerEpoch(&_LinearPriceCalculator.CallOpts)
}

// PricePerMessagePerEpoch is a free data retrieval call binding the contract method 0x8b1ac10f.
//
// Solidity: function pricePerMessagePerEpoch() view returns(uint256)
func (_LinearPriceCalculator *LinearPriceCalculatorCallerSession) PricePerMessagePerEpoch() (*big.Int, error) {
	return _LinearPriceCalculator.Contract.PricePerMessagePerEpoch(&_LinearPriceCalculator.CallOpts)
}

// Token is a free data retrieval call binding the contract method 0xfc0c546a.
//
// Solidity: function token() view returns(address)
func (_LinearPriceCalculator *LinearPriceCalculatorCaller) Token(opts *bind.CallOpts) (common.Address, error) {
	var out []interface{}
	err := _LinearPriceCalculator.contract.Call(opts, &out, "token")

	if err != nil {
		return *new(common.Address), err
	}

	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)

	return out0, err

}

// Token is a free data retrieval call binding the contract method 0xfc0c546a.
//
// Solidity: function token() view returns(address)
func (_LinearPriceCalculator *LinearPriceCalculatorSession) Token() (common.Address, error) {
	return _LinearPriceCalculator.Contract.Token(&_LinearPriceCalculator.CallOpts)
}

// Token is a free data retrieval call binding the contract method 0xfc0c546a.
//
// Solidity: function token() view returns(address)
func (_LinearPriceCalculator *LinearPriceCalculatorCallerSession) Token() (common.Address, error) {
	return _LinearPriceCalculator.Contract.Token(&_LinearPriceCalculator.CallOpts)
}

// RenounceOwnership is a paid mutator transaction binding the contract method 0x715018a6.
//
// Solidity: function renounceOwnership() returns()
func (_LinearPriceCalculator *LinearPriceCalculatorTransactor) RenounceOwnership(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _LinearPriceCalculator.contract.Transact(opts, "renounceOwnership")
}

// RenounceOwnership is a paid mutator transaction binding the contract method 0x715018a6.
//
// Solidity: function renounceOwnership() returns()
func (_LinearPriceCalculator *LinearPriceCalculatorSession) RenounceOwnership() (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.RenounceOwnership(&_LinearPriceCalculator.TransactOpts)
}

// RenounceOwnership is a paid mutator transaction binding the contract method 0x715018a6.
//
// Solidity: function renounceOwnership() returns()
func (_LinearPriceCalculator *LinearPriceCalculatorTransactorSession) RenounceOwnership() (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.RenounceOwnership(&_LinearPriceCalculator.TransactOpts)
}

// SetTokenAndPrice is a paid mutator transaction binding the contract method 0x179750ec.
//
// Solidity: function setTokenAndPrice(address token_, uint256 pricePerMessagePerEpoch_) returns()
func (_LinearPriceCalculator *LinearPriceCalculatorTransactor) SetTokenAndPrice(opts *bind.TransactOpts, token_ common.Address, pricePerMessagePerEpoch_ *big.Int) (*types.Transaction, error) {
	return _LinearPriceCalculator.contract.Transact(opts, "setTokenAndPrice", token_, pricePerMessagePerEpoch_)
}

// SetTokenAndPrice is a paid mutator transaction binding the contract method 0x179750ec.
//
// Solidity: function setTokenAndPrice(address token_, uint256 pricePerMessagePerEpoch_) returns()
func (_LinearPriceCalculator *LinearPriceCalculatorSession) SetTokenAndPrice(token_ common.Address, pricePerMessagePerEpoch_ *big.Int) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.SetTokenAndPrice(&_LinearPriceCalculator.TransactOpts, token_, pricePerMessagePerEpoch_)
}

// SetTokenAndPrice is a paid mutator transaction binding the contract method 0x179750ec.
//
// Solidity: function setTokenAndPrice(address token_, uint256 pricePerMessagePerEpoch_) returns()
func (_LinearPriceCalculator *LinearPriceCalculatorTransactorSession) SetTokenAndPrice(token_ common.Address, pricePerMessagePerEpoch_ *big.Int) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.SetTokenAndPrice(&_LinearPriceCalculator.TransactOpts, token_, pricePerMessagePerEpoch_)
}

// TransferOwnership is a paid mutator transaction binding the contract method 0xf2fde38b.
//
// Solidity: function transferOwnership(address newOwner) returns()
func (_LinearPriceCalculator *LinearPriceCalculatorTransactor) TransferOwnership(opts *bind.TransactOpts, newOwner common.Address) (*types.Transaction, error) {
	return _LinearPriceCalculator.contract.Transact(opts, "transferOwnership", newOwner)
}

// TransferOwnership is a paid mutator transaction binding the contract method 0xf2fde38b.
//
// Solidity: function transferOwnership(address newOwner) returns()
func (_LinearPriceCalculator *LinearPriceCalculatorSession) TransferOwnership(newOwner common.Address) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.TransferOwnership(&_LinearPriceCalculator.TransactOpts, newOwner)
}

// TransferOwnership is a paid mutator transaction binding the contract method 0xf2fde38b.
//
// Solidity: function transferOwnership(address newOwner) returns()
func (_LinearPriceCalculator *LinearPriceCalculatorTransactorSession) TransferOwnership(newOwner common.Address) (*types.Transaction, error) {
	return _LinearPriceCalculator.Contract.TransferOwnership(&_LinearPriceCalculator.TransactOpts, newOwner)
}

// LinearPriceCalculatorOwnershipTransferredIterator is returned from FilterOwnershipTransferred and is used to iterate over the raw logs and unpacked data for OwnershipTransferred events raised by the LinearPriceCalculator contract.
type LinearPriceCalculatorOwnershipTransferredIterator struct {
	Event *LinearPriceCalculatorOwnershipTransferred // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *LinearPriceCalculatorOwnershipTransferredIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(LinearPriceCalculatorOwnershipTransferred)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(LinearPriceCalculatorOwnershipTransferred)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *LinearPriceCalculatorOwnershipTransferredIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *LinearPriceCalculatorOwnershipTransferredIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// LinearPriceCalculatorOwnershipTransferred represents a OwnershipTransferred event raised by the LinearPriceCalculator contract.
type LinearPriceCalculatorOwnershipTransferred struct {
	PreviousOwner common.Address
	NewOwner      common.Address
	Raw           types.Log // Blockchain specific contextual infos
}

// FilterOwnershipTransferred is a free log retrieval operation binding the contract event 0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0.
//
// Solidity: event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)
func (_LinearPriceCalculator *LinearPriceCalculatorFilterer) FilterOwnershipTransferred(opts *bind.FilterOpts, previousOwner []common.Address, newOwner []common.Address) (*LinearPriceCalculatorOwnershipTransferredIterator, error) {

	var previousOwnerRule []interface{}
	for _, previousOwnerItem := range previousOwner {
		previousOwnerRule = append(previousOwnerRule, previousOwnerItem)
	}
	var newOwnerRule []interface{}
	for _, newOwnerItem := range newOwner {
		newOwnerRule = append(newOwnerRule, newOwnerItem)
	}

	logs, sub, err := _LinearPriceCalculator.contract.FilterLogs(opts, "OwnershipTransferred", previousOwnerRule, newOwnerRule)
	if err != nil {
		return nil, err
	}
	return &LinearPriceCalculatorOwnershipTransferredIterator{contract: _LinearPriceCalculator.contract, event: "OwnershipTransferred", logs: logs, sub: sub}, nil
}

// WatchOwnershipTransferred is a free log subscription operation binding the contract event 0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0.
//
// Solidity: event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)
func (_LinearPriceCalculator *LinearPriceCalculatorFilterer) WatchOwnershipTransferred(opts *bind.WatchOpts, sink chan<- *LinearPriceCalculatorOwnershipTransferred, previousOwner []common.Address, newOwner []common.Address) (event.Subscription, error) {

	var previousOwnerRule []interface{}
	for _, previousOwnerItem := range previousOwner {
		previousOwnerRule = append(previousOwnerRule, previousOwnerItem)
	}
	var newOwnerRule []interface{}
	for _, newOwnerItem := range newOwner {
		newOwnerRule = append(newOwnerRule, newOwnerItem)
	}

	logs, sub, err := _LinearPriceCalculator.contract.WatchLogs(opts, "OwnershipTransferred", previousOwnerRule, newOwnerRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(LinearPriceCalculatorOwnershipTransferred)
				if err := _LinearPriceCalculator.contract.UnpackLog(event, "OwnershipTransferred", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseOwnershipTransferred is a log parse operation binding the contract event 0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0.
//
// Solidity: event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)
func (_LinearPriceCalculator *LinearPriceCalculatorFilterer) ParseOwnershipTransferred(log types.Log) (*LinearPriceCalculatorOwnershipTransferred, error) {
	event := new(LinearPriceCalculatorOwnershipTransferred)
	if err := _LinearPriceCalculator.contract.UnpackLog(event, "OwnershipTransferred", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
